#!/usr/bin/env python3
"""Print the bytes WAPT signs for a control file read on stdin.

An independent re-statement, for tests, of what WAPT's PackageEntry does
(waptpackage.py: control_to_dict, __init__ defaults, _signed_content,
serialize_content_for_signature): attributes are read from "key: value"
lines (a line starting with a space continues the previous value;
installed_size and size become ints when they parse), required and
optional attributes default to "", the others to None, and the dict over
signed_attributes is dumped with sort_keys=True, separators=(",", ":").
"""
import json
import sys

REQUIRED = ["package", "version", "architecture", "section", "priority"]
OPTIONAL = [
    "name", "categories", "maintainer", "description", "depends", "conflicts", "maturity",
    "locale", "target_os", "min_os_version", "max_os_version", "min_wapt_version",
    "sources", "installed_size", "impacted_process", "description_fr", "description_pl",
    "description_de", "description_es", "description_pt", "description_it", "description_nl",
    "description_ru", "audit_schedule", "editor", "keywords", "licence", "homepage",
    "package_uuid", "valid_from", "valid_until", "forced_install_on", "changelog",
]
INT_PARAMS = ("size", "installed_size")


def read_control(text):
    result = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            break
        if line.startswith(" "):
            result[key] = result[key] + "\n" + line.strip()
            continue
        sc = line.find(":")
        if sc < 0:
            raise ValueError("no ':' in %r" % line)
        key, value = line[:sc].strip().lower(), line[sc + 1:].strip()
        if key in INT_PARAMS:
            try:
                value = int(value)
            except ValueError:
                pass
        result[key] = value
    return result


def main():
    attrs = {k: "" for k in REQUIRED + OPTIONAL}
    attrs.update(read_control(sys.stdin.buffer.read().decode("utf-8")))
    signed = [a.strip() for a in (attrs.get("signed_attributes") or "").split(",") if a.strip()]
    content = {a: attrs.get(a) for a in signed}
    sys.stdout.write(json.dumps(content, sort_keys=True, separators=(",", ":")))


if __name__ == "__main__":
    main()
