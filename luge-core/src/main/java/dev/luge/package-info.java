/**
 * Luge's public API: open a database with {@link dev.luge.Luge#open}, then read and write its
 * {@link dev.luge.Tree}s (the {@link dev.luge.Db} is itself the default tree).
 *
 * <p>Conventions: keys and values are byte arrays compared as unsigned bytes; arrays passed in are
 * copied and arrays returned belong to the caller; every error Luge raises on purpose is an
 * unchecked {@link dev.luge.LugeException}, except the {@code java.util} contract's {@link
 * NullPointerException} for null keys, values and names and {@link IllegalArgumentException} for
 * invalid configuration (from {@link dev.luge.Config.Builder}).
 */
package dev.luge;
