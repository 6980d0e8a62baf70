/**
 * Luge: an embedded, ordered, byte-keyed key-value store.
 *
 * <p>Only {@code dev.luge} is exported; everything under {@code dev.luge.internal} is hidden by the
 * module boundary and may change in any release.
 */
module dev.luge {
  exports dev.luge;
}
