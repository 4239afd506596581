package dev.herd.engine.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds special-token texts in input and cuts it into special tokens and plain text, the way
 * llama.cpp's {@code tokenizer_st_partition} does: the longest special texts are claimed first,
 * each left to right without overlapping what is already claimed. (For texts like
 * {@code <|eot|>}, which cannot overlap one another, that is the same as leftmost matching.)
 * Candidate occurrences come from one pass over the text with a character trie, so the cost does
 * not grow with the number of special tokens (Llama 4 has 2048).
 */
final class SpecialTokenMatcher {

    /** A special token at {@code [start, end)} ({@code id >= 0}) or plain text there ({@code id == -1}). */
    record Fragment(int start, int end, int id) {
        boolean isText() { return id < 0; }
    }

    private static final class Node {
        final Map<Character, Node> children = new HashMap<>(2);
        int id = -1;
        boolean alwaysParsed;
    }

    private final Node root = new Node();
    /** The characters special texts start with: every other position is skipped without a lookup. */
    private final java.util.BitSet firstChars = new java.util.BitSet();
    private final boolean anyParsedWhenAsked;
    private final boolean anyAlwaysParsed;

    /**
     * @param parsedWhenAsked control tokens: recognised only when the caller asks for special parsing
     * @param alwaysParsed    user-defined tokens: always recognised, as llama.cpp does
     */
    SpecialTokenMatcher(Map<String, Integer> parsedWhenAsked, Map<String, Integer> alwaysParsed) {
        parsedWhenAsked.forEach((text, id) -> insert(text, id, false));
        alwaysParsed.forEach((text, id) -> insert(text, id, true));
        anyParsedWhenAsked = !parsedWhenAsked.isEmpty();
        anyAlwaysParsed = !alwaysParsed.isEmpty();
    }

    private void insert(String text, int id, boolean always) {
        if (text.isEmpty()) return;
        firstChars.set(text.charAt(0));
        Node n = root;
        for (int i = 0; i < text.length(); i++) n = n.children.computeIfAbsent(text.charAt(i), c -> new Node());
        n.id = id;
        n.alwaysParsed = always;
    }

    List<Fragment> partition(String text, boolean parseSpecial) {
        if (text.isEmpty() || !(anyAlwaysParsed || (parseSpecial && anyParsedWhenAsked))) return List.of(new Fragment(0, text.length(), -1));
        // Every occurrence of every active special text: {length, id, start} triples.
        List<int[]> matches = new ArrayList<>();
        for (int start = 0; start < text.length(); start++) {
            if (!firstChars.get(text.charAt(start))) continue;
            Node n = root;
            for (int i = start; i < text.length(); i++) {
                n = n.children.get(text.charAt(i));
                if (n == null) break;
                if (n.id >= 0 && (parseSpecial || n.alwaysParsed)) matches.add(new int[]{i + 1 - start, n.id, start});
            }
        }
        if (matches.isEmpty()) return List.of(new Fragment(0, text.length(), -1));
        matches.sort((a, b) -> a[0] != b[0] ? Integer.compare(b[0], a[0]) : a[1] != b[1] ? Integer.compare(a[1], b[1]) : Integer.compare(a[2], b[2]));
        int[] claimedBy = new int[text.length()];
        Arrays.fill(claimedBy, -1);
        List<int[]> accepted = new ArrayList<>();
        for (int[] m : matches) {
            int start = m[2], end = start + m[0];
            boolean free = true;
            for (int i = start; i < end && free; i++) free = claimedBy[i] < 0;
            if (!free) continue;
            Arrays.fill(claimedBy, start, end, m[1]);
            accepted.add(m);
        }
        accepted.sort((a, b) -> Integer.compare(a[2], b[2]));
        List<Fragment> out = new ArrayList<>(accepted.size() * 2 + 1);
        int at = 0;
        for (int[] m : accepted) {
            if (m[2] > at) out.add(new Fragment(at, m[2], -1));
            out.add(new Fragment(m[2], m[2] + m[0], m[1]));
            at = m[2] + m[0];
        }
        if (at < text.length()) out.add(new Fragment(at, text.length(), -1));
        return out;
    }
}
