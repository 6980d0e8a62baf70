/** The {@code luge} command line: one picocli command class per verb, exit codes from sysexits. */
package dev.luge.cli;
