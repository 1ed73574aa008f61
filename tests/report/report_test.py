#!/usr/bin/env python3
"""The report as its readers meet it: report.json against its JSON Schema (docs/report.schema.json,
with python3-jsonschema), and report.html in a real browser (headless Chromium): no console
errors, every check id of report.json in the rendered page, charts and images present, and a
screenshot written as an artefact. Each half first proves it can fail on a planted bad input.

The report comes from one `preflight check --out REPORT_DIR` with no other argument (the bundled
cnn8 on the bundled digits: tests/CMakeLists.txt's report_setup, its output in REPORT_DIR.log);
a third half checks what that default run printed and decided.

usage: report_test.py schema|browser|default REPORT_DIR SOURCE_DIR
Exit 0 pass, 1 fail, 77 skipped (no Chromium outside CI).
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def schema_test(report_dir, source_dir):
    import jsonschema

    with open(os.path.join(source_dir, "docs", "report.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    with open(os.path.join(report_dir, "report.json")) as f:
        report = json.load(f)
    errors = [e.message for e in validator.iter_errors(report)]
    if errors:
        fail("report.json does not match docs/report.schema.json: " + "; ".join(errors[:5]))
    # Planted: each of these must be refused, or the schema cannot catch a broken report.
    planted = {
        "a verdict that is not one of pass/warn/fail/skipped": lambda r: r["checks"][0].__setitem__("verdict", "maybe"),
        "no checks": lambda r: r.pop("checks"),
        "a version that is a string": lambda r: r.__setitem__("version", "1"),
        "an unknown field": lambda r: r.__setitem__("extra", 1),
        "an evidence path outside the folder": lambda r: r["checks"][0]["evidence"].append("../../etc/passwd"),
        "a curve value that is a string": lambda r: r["checks"][0]["curves"].append({"name": "x", "x": [1], "y": ["a"]}),
    }
    for what, plant in planted.items():
        broken = copy.deepcopy(report)
        plant(broken)
        if validator.is_valid(broken):
            fail("the schema accepts a report with " + what)
    print("report.json matches docs/report.schema.json (%d checks); %d planted defects refused"
          % (len(report["checks"]), len(planted)))


def chromium(args):
    """Runs headless Chromium; returns (stdout, console lines)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--enable-logging=stderr", "--v=0"] + args
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        fail("chromium exited %d: %s" % (run.returncode, run.stderr[-2000:]))
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return run.stdout, console


def browser_test(report_dir, source_dir):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        if os.environ.get("CI"):
            fail("chromium is not installed (scripts/install-deps.sh installs it)")
        print("SKIP: chromium is not installed (scripts/install-deps.sh installs it)")
        sys.exit(77)
    # Planted: a page that logs an error must be caught, or the console check cannot fail.
    planted = os.path.join(report_dir, "planted.html")
    with open(planted, "w") as f:
        f.write('<!DOCTYPE html><html><body><p>planted</p><script>console.error("planted error")</script></body></html>')
    _, console = chromium(["--dump-dom", "file://" + planted])
    if not any("planted error" in line for line in console):
        fail("a console error on a planted page went unseen; the console check cannot work")

    html = os.path.join(report_dir, "report.html")
    with open(os.path.join(report_dir, "report.json")) as f:
        report = json.load(f)
    dom, console = chromium(["--dump-dom", "file://" + html])
    if console:
        fail("report.html logs to the console: " + " | ".join(console[:5]))
    missing = [c["id"] for c in report["checks"] if 'id="check-%s"' % c["id"] not in dom]
    if missing:
        fail("check ids missing from the rendered report: " + ", ".join(missing))
    charts = dom.count("<svg")
    images = len(re.findall(r'<img [^>]*src="data:image/png;base64,', dom))
    if charts < 2 or images < 2:
        fail("the rendered report has %d charts and %d images; expected the loss curves, prediction dynamics, "
             "input view and first layer" % (charts, images))
    screenshot = os.path.join(report_dir, "report-screenshot.png")
    if os.path.exists(screenshot):
        os.remove(screenshot)
    chromium(["--window-size=1280,3600", "--screenshot=" + screenshot, "file://" + html])
    with open(screenshot, "rb") as f:
        head = f.read(8)
    if head != b"\x89PNG\r\n\x1a\n" or os.path.getsize(screenshot) < 20000:
        fail("no usable screenshot at " + screenshot)
    print("report.html: %d check ids, %d charts, %d images, no console messages; screenshot %s (%d bytes)"
          % (len(report["checks"]), charts, images, screenshot, os.path.getsize(screenshot)))


def default_test(report_dir, source_dir):
    """`preflight check` with no arguments (it exited 0, or report_setup failed) passes every check."""
    with open(report_dir.rstrip("/") + ".log") as f:
        printed = f.read()
    for line in ("verdict: PASS", "skeleton.overfit_batch", "wrote " + os.path.join(report_dir, "report.html")):
        if line not in printed:
            fail("`preflight check` with no arguments did not print %r" % line)
    with open(os.path.join(report_dir, "report.json")) as f:
        report = json.load(f)
    if report.get("schema") != "preflight.report" or report.get("version") != 1 or report.get("verdict") != "pass":
        fail("report.json: schema %r, version %r, verdict %r" % (report.get("schema"), report.get("version"),
                                                                report.get("verdict")))
    if len(report["checks"]) != 19:
        fail("report.json has %d checks, the recipe has 19" % len(report["checks"]))
    failed = [c["id"] for c in report["checks"] if c["verdict"] == "fail" or not isinstance(c["explanation"], str)]
    if failed:
        fail("checks failed or without an explanation on the bundled default: " + ", ".join(failed))
    print("preflight check (no arguments): PASS, %d checks, none failed" % len(report["checks"]))


def main():
    tests = {"schema": schema_test, "browser": browser_test, "default": default_test}
    if len(sys.argv) != 4 or sys.argv[1] not in tests:
        print(__doc__)
        sys.exit(2)
    tests[sys.argv[1]](sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
