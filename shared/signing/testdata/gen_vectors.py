#!/usr/bin/env python3
"""Generate json_vectors.json: inputs and their Python canonical JSON.

Each case is {"input": <value>, "output": json.dumps(value, sort_keys=True,
separators=(",", ":"))}, the serialization WAPT signs (ensure_ascii left at
its default, True). The Go test decodes "input" with UseNumber and requires
signing.CanonicalJSON to give "output" byte for byte.

Run from shared/signing:  python3 testdata/gen_vectors.py > testdata/json_vectors.json
The file is written with ensure_ascii=False and indent=1 so that it stays
readable; Go and Python decode it to the same values. No lone surrogates:
Go strings cannot hold them.
"""
import json
import sys


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


CONTROL = {
    "package": "tis-firefox",
    "version": "115.0.2-12",
    "architecture": "x64",
    "section": "base",
    "priority": "optional",
    "description": "Navigateur web — édition ESR <stable> & sûr",
    "description_fr": "Navigateur «Firefox»",
    "depends": "tis-vcredist,tis-7zip(>=19.0)",
    "installed_size": 123456789,
    "maintainer": "Ädmin <admin@example.lan>",
    "changelog": "line one\nline two\n\ttabbed",
    "signer": None,
    "signed_attributes": "package,version,architecture",
}

INPUTS = [
    # scalars
    "",
    "plain ascii",
    "<script>alert('x') && y > z</script>",
    '"quoted" \\backslash\\ /slash/',
    "tab\there\nnewline\rcr\bbs\fff",
    "".join(chr(c) for c in range(0x00, 0x20)),
    "del\x7fdel",
    "\x80\x9f\xa0\xff",
    "café crème brûlée — naïve Ångström",
    "中文字符 日本語 한국어",
    "emoji 😀 🎉 👩‍💻 and 𝄞 (U+1D11E)",
    "\U0010ffff max",
    "\u2028line sep\u2029para sep\ufeffbom\ufffd",
    "\u0100\u0fff\u1000\uabcd\ud7ff\ue000",
    0,
    1,
    -1,
    42,
    -9007199254740993,
    18446744073709551615,
    -9223372036854775808,
    123456789012345678901234567890,
    True,
    False,
    None,
    # floats: Python repr rules
    0.0,
    -0.0,
    1.0,
    -2.5,
    0.1,
    1e-05,
    0.0001,
    1e16,
    9999999999999998.0,
    1.5e-07,
    1e100,
    123456.789,
    5e-324,
    1.7976931348623157e308,
    # containers
    [],
    {},
    [[]],
    [{}],
    [1, "a", None, True, False, -3, [2, [3, [4]]]],
    {"b": 1, "a": 2, "A": 3, "_": 4, "é": 5, "z": 6, "10": 7, "9": 8, "": 9},
    {"key with space": {"nested": {"deeper": ["x", {"y": None}]}}},
    {"ü": "ü", "😀": "😀", "中": ["中"], "\u00e9": 1, "\uffff": 2, "\U00010000": 3},
    {"<>&": "<>&", '"\\/': '"\\/'},
    [["WAPT/control", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
     ["setup.py", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"],
     ["files/été 😀.txt", "00" * 32]],
    CONTROL,
]


def main():
    cases = [{"input": v, "output": canonical(v)} for v in INPUTS]
    json.dump(cases, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
