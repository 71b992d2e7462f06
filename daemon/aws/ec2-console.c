/* SPDX-License-Identifier: MIT */
/*
 * GetConsoleOutput's answer read (ec2-instance-calls.c sends it), pure and apart from the
 * calls so that the fuzzer reaches it. EC2: "output: The console output, base64-encoded";
 * "Only the most recent 64 KB of console output is available".
 * The decoder is strict about the alphabet (a byte outside it is a wrong answer, never
 * guessed at) and lenient about layout: line breaks and blanks anywhere, and "=" padding
 * or none, since what amirotd matches is the text, not the encoding. Nothing here logs.
 */
#include "ec2.h"
#include "query.h"

static int base64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Decodes s into a NUL-terminated string in *ret. A NUL byte of the console (a serial
 * line's noise at boot) is left out: the caller gets text, and a NUL would cut it short.
 * -EBADMSG for a character outside the alphabet, a "=" anywhere but at the end, or a
 * last group of one character (six bits are no byte).
 */
static int base64_decode_text(const char *s, char **ret) {
        _cleanup_(freep) char *out = NULL;
        size_t n = 0, group = 0, pad = 0;
        uint32_t bits = 0;

        out = malloc(strlen(s) / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        for (const char *p = s; *p; p++) {
                int v;

                if (is_blank(*p))
                        continue;
                if (*p == '=') {
                        pad++;
                        continue;
                }
                v = base64_value(*p);
                if (v < 0 || pad > 0)
                        return -EBADMSG;
                bits = bits << 6 | (uint32_t) v;
                if (++group < 4)
                        continue;
                for (int shift = 16; shift >= 0; shift -= 8)
                        if ((out[n] = (char) (bits >> shift & 0xff)) != 0)
                                n++;
                bits = 0;
                group = 0;
        }
        /* A tail of two or three characters holds one or two bytes; padding, when
         * given, must complete the group. */
        if (group == 1 || (pad > 0 && group + pad != 4) || (group == 0 && pad > 0))
                return -EBADMSG;
        if (group >= 2) {
                bits <<= 6 * (4 - group);
                for (size_t k = 0; k < group - 1; k++)
                        if ((out[n] = (char) (bits >> (16 - 8 * k) & 0xff)) != 0)
                                n++;
        }
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

int ec2_parse_console_output(xmlDoc *doc, char **ret) {
        _cleanup_(freep) char *encoded = NULL, *text = NULL;
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        int r;

        if (!ret)
                return -EINVAL;
        if (!root || !root->name || !streq((const char *) root->name, "GetConsoleOutputResponse"))
                return -EBADMSG;
        /* An instance that has written nothing yet answers no <output>, or an empty one. */
        r = xml_child_text(root, "output", &encoded);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        r = base64_decode_text(encoded, &text);
        if (r < 0)
                return r;
        *ret = isempty(text) ? NULL : TAKE_PTR(text);
        return 0;
}
