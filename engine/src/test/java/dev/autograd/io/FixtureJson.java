package dev.autograd.io;

/** Test access to the engine's JSON reader, for fixtures written by tools/*.py. */
public final class FixtureJson {
    private FixtureJson() {
    }

    public static Object parse(String text) {
        try {
            return Json.parse(text);
        } catch (Json.JsonException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
