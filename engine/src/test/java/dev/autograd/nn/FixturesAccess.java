package dev.autograd.nn;

/** Lets tests in other packages read the nn fixtures. */
public final class FixturesAccess {

    private FixturesAccess() {
    }

    public static Object json(String text) {
        return Fixtures.json(text);
    }
}
