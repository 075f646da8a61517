/* SHA-256 against the FIPS 180-4 examples, for any split of the input. */
#include <string.h>

#include "base/sha256.h"
#include "testing.h"

static void hex(const uint8_t d[32], char out[65]) {
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void check(const char *msg, size_t len, const char *expected) {
    for (size_t split = 0; split <= len && split < 200; split += split < 70 ? 1 : 37) {
        gf_sha256 s;
        uint8_t d[32];
        char h[65];
        gf_sha256_init(&s);
        gf_sha256_update(&s, msg, split);
        gf_sha256_update(&s, msg + split, len - split);
        gf_sha256_final(&s, d);
        hex(d, h);
        CHECK(!strcmp(h, expected), "len %zu split %zu: %s", len, split, h);
    }
}

int main(void) {
    check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    static char a[1000000];
    memset(a, 'a', sizeof a);
    check(a, sizeof a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    TEST_MAIN_END();
}
