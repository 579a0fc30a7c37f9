"""The tally of the end-to-end test scripts: `check` prints each verdict and counts it, `finish`
prints the totals and gives the exit code.

    sys.path.insert(0, <the tests folder>)
    from checks import check, finish
    check("trig check accepts the examples", rc == 0, stderr)
    sys.exit(finish())
"""
passed = failed = 0


def check(name, cond, detail=""):
    """Prints `ok NAME` or `FAIL NAME DETAIL` (detail cut at 2,000 characters); returns cond."""
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {str(detail)[:2000]}")
    return cond


def finish(label="", strict=True):
    """Prints "LABEL N passed, M failed"; the exit code: 1 when a check failed (and strict)."""
    print(f"{label}{passed} passed, {failed} failed")
    return 1 if failed and strict else 0
