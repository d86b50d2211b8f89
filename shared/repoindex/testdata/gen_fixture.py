#!/usr/bin/env python3
"""Writes wapt-Packages.zip the way WAPT's update_packages_index does
(zipfile, ZIP_DEFLATED, "Packages" member = ascontrol(with_repo_attributes=True)
blocks each followed by an empty line, joined by "\n"; ssl/<sha256 fp>.crt;
crl/<aki>.crl), with a fixed date so the fixture is reproducible.

Block 2 uses CRLF line ends and blocks are separated by extra blank lines, as
a hand-edited index on Windows would be. Run from this directory:
    python3 gen_fixture.py
"""
import hashlib
import ssl
import zipfile

DATE = (2024, 5, 6, 7, 8, 10)


def line(k, v):
    return "%-18s: %s" % (k, v)


required = ["package", "version", "architecture", "section", "priority"]
optional = ["name", "categories", "maintainer", "description", "depends", "conflicts", "maturity",
            "locale", "target_os", "min_os_version", "max_os_version", "min_wapt_version",
            "sources", "installed_size", "impacted_process", "description_fr", "description_pl",
            "description_de", "description_es", "description_pt", "description_it",
            "description_nl", "description_ru", "audit_schedule", "editor", "keywords",
            "licence", "homepage", "package_uuid", "valid_from", "valid_until",
            "forced_install_on", "changelog"]
signature = ["signer", "signer_fingerprint", "signature", "signature_date", "signed_attributes"]


def ascontrol(d):
    # WAPT writes every default signed attribute (all but "signature"), even
    # empty, plus the non-empty ones, then the non-empty repo attributes.
    out = []
    for k in required + optional + signature:
        if k != "signature" or d.get(k):
            v = d.get(k, "")
            out.append(line(k, v.replace("\n", "\n ")))
    for k in ["filename", "size", "md5sum"]:
        if d.get(k):
            out.append(line(k, d[k]))
    return "\n".join(out)


pem = open("wapt-signer.crt").read()
fp = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()

firefox = {
    "package": "tis-firefox-esr", "version": "115.9.1-12", "architecture": "x64",
    "section": "base", "priority": "optional", "name": "Mozilla Firefox ESR",
    "maintainer": "WAPT Team", "description": "Firefox ESR\nLong term support release",
    "depends": "tis-vcredist,tis-fonts(>=2.0)", "maturity": "PROD", "locale": "",
    "target_os": "windows", "installed_size": "235643211",
    "description_fr": "Navigateur \u00e9tendu",
    "package_uuid": "0f5d2a1e-1b7c-4f9e-9c61-7d7b6a2b8c11",
    "signer": "fixture-signer", "signer_fingerprint": fp,
    "signature": "c2lnbmF0dXJl", "signature_date": "2024-05-06T07:08:09.123456",
    "signed_attributes": "package,version,architecture,section,priority",
    "filename": "tis-firefox-esr_115.9.1-12_x64_PROD.wapt", "size": "61234567",
    "md5sum": "0123456789abcdef0123456789abcdef",
}
sevenzip = {
    "package": "tis-7zip", "version": "23.01-3", "architecture": "all",
    "section": "base", "priority": "optional", "name": "7-Zip", "locale": "fr,en",
    "filename": "tis-7zip_23.01-3_fr-en.wapt", "size": "1500000",
    "md5sum": "fedcba9876543210fedcba9876543210",
}
group = {
    "package": "grp-office", "version": "3", "architecture": "all", "section": "group",
    "priority": "optional", "depends": "tis-firefox-esr,tis-7zip",
    "filename": "grp-office_3.wapt", "size": "2048", "md5sum": "00112233445566778899aabbccddeeff",
}

lines = [ascontrol(firefox), ""]
lines.append(ascontrol(sevenzip).replace("\n", "\r\n"))
lines += ["", "", ""]
lines.append(ascontrol(group))  # last block: no final newline
text = "\n".join(lines)

with zipfile.ZipFile("wapt-Packages.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
    zi = zipfile.ZipInfo("Packages", date_time=DATE)
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, text.encode("utf8"))
    zi = zipfile.ZipInfo("ssl/%s.crt" % fp, date_time=DATE)
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, pem)
    zi = zipfile.ZipInfo("crl/00aabb.crl", date_time=DATE)
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, b"\x30\x03\x02\x01\x00")
print(fp)
