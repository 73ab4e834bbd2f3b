package dev.autograd.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every tutorial scenario against what real PyTorch 1.13 printed for the same cell
 * (tools/make_scenario_fixtures.py). Object addresses are masked; the random scenario (vjp) is checked
 * for consistency instead: x.grad == v * 2^k where y = x * 2^k.
 */
class TutorialScenariosTest {

    static String expected(String name) throws IOException {
        try (InputStream in = TutorialScenariosTest.class.getResourceAsStream("/scenarios/" + name + ".txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static String maskAddresses(String s) {
        return s.replaceAll("object at 0x[0-9a-f]+>", "object at 0x...>");
    }

    @ParameterizedTest
    @ValueSource(strings = {"q-gradient", "mean-grad", "requires-grad-flag", "chain-rule", "no-grad",
        "dag-exclusion", "accumulate", "no-grad-error"})
    void printsWhatPyTorchPrints(String name) throws IOException {
        Object[] r = MainTest.run("run", name);
        assertEquals(0, r[0], (String) r[2]);
        assertEquals(maskAddresses(expected(name)), maskAddresses(((String) r[1]).replace("\r\n", "\n")));
    }

    @Test
    void vjpGradientIsVTimesAPowerOfTwo() {
        for (String seed : new String[] {"1", "2", "3"}) {
            Object[] r = MainTest.run("run", "vjp", "--seed", seed);
            assertEquals(0, r[0]);
            String[] lines = ((String) r[1]).split("\n");
            assertEquals(2, lines.length, (String) r[1]);
            assertTrue(lines[0].startsWith("tensor([") && lines[0].endsWith("], grad_fn=<MulBackward0>)"), lines[0]);
            Matcher m = Pattern.compile("tensor\\(\\[([-0-9.e+]+), ([-0-9.e+]+), ([-0-9.e+]+)\\]\\)").matcher(lines[1].trim());
            assertTrue(m.matches(), lines[1]);
            double g0 = Double.parseDouble(m.group(1));
            double g1 = Double.parseDouble(m.group(2));
            double g2 = Double.parseDouble(m.group(3));
            double k = Math.log(g1) / Math.log(2); // v[1] = 1
            assertEquals(Math.rint(k), k, 1e-9, "a power of two: " + g1);
            assertEquals(0.1 * g1, g0, 1e-4 * g0);
            assertEquals(0.0001 * g1, g2, 1e-3 * g2);
        }
    }

    @Test
    void listShowsEveryScenarioWithADescription() {
        Object[] r = MainTest.run("run", "--list");
        String out = (String) r[1];
        for (String name : new String[] {"q-gradient", "mean-grad", "requires-grad-flag", "vjp", "chain-rule",
            "no-grad", "dag-exclusion", "accumulate", "no-grad-error"}) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(name + " ") && l.length() > name.length() + 10), name + " in\n" + out);
        }
    }
}
