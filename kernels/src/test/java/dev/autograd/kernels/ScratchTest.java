package dev.autograd.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The slack past every scratch array: a packed panel never ends at its array's end, where the
 * micro-kernel's hoisted bounds check would fail and get it recompiled slower (see {@link Scratch#SLACK}).
 */
class ScratchTest {

    @Test
    void everyScratchArrayReachesSlackFloatsPastTheSizeAsked() {
        ThreadLocal<float[]> local = ThreadLocal.withInitial(() -> new float[0]);
        float[] first = Scratch.floats(local, 1000);
        assertTrue(first.length >= 1000 + Scratch.SLACK, "length " + first.length);
        assertSame(first, Scratch.floats(local, 1000), "reused at the same size");
        assertSame(first, Scratch.floats(local, 10), "reused at a smaller size");
        float[] grown = Scratch.floats(local, first.length);
        assertTrue(grown.length >= first.length + Scratch.SLACK, "grown when the slack would not fit");
    }

    @Test
    void theSlackNeverOverflowsNorShortensAnArraySize() {
        assertEquals(Integer.MAX_VALUE - 16, Scratch.withSlack(Integer.MAX_VALUE - 16));
        assertEquals(Integer.MAX_VALUE, Scratch.withSlack(Integer.MAX_VALUE));
        assertEquals(Integer.MAX_VALUE - 8, Scratch.withSlack(Integer.MAX_VALUE - 8 - Scratch.SLACK));
        assertEquals(Scratch.SLACK, Scratch.withSlack(0));
    }
}
