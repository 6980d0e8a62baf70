package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * {@link CorruptionTest} with deflated leaf images: damage inside a zlib stream, or to the plain
 * length before it, is reported or harmless like any other (never a wrong leaf, never an allocation
 * sized by a damaged length).
 */
class CompressedCorruptionTest extends CorruptionTest {
  @Override
  boolean compression() {
    return true;
  }

  /**
   * The damage above reaches deflated images: the page log holds some (a record's payload starts 20
   * bytes into it, and a deflated image starts with -2).
   */
  @Test
  void thePageLogHoldsDeflatedImages() throws Exception {
    int deflated = 0;
    for (String file : base.list()) {
      if (file.startsWith("page")) {
        byte[] content = base.contents(file);
        ByteBuffer b = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN);
        for (int at : records(content)) {
          if (b.getInt(at) >= 4 && b.getInt(at + 20) == -2) {
            deflated++;
          }
        }
      }
    }
    assertTrue(deflated > 0, "no deflated image in the page log");
  }
}
