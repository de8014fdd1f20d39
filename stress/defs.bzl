"""ta_stress_test: one stress source, run as a plain test plus environment variants."""

load("//alloc:copts.bzl", "TA_TEST_COPTS")

def ta_stress_test(name, srcs, env = {}, env_variants = {}, size = "large", tags = [], **kwargs):
    """Emits `name`, `name_<variant>` per env_variants entry, and the test_suite `name_suite`.

    Args:
      name: the base test; runs with `env`.
      srcs: the suite's sources (the harness comes from :harness).
      env: environment of every target.
      env_variants: {"arenas1": {"TAMALLOC_ARENAS": "1"}} adds `<name>_arenas1` with env + that.
      size: Bazel test size ("large" or "enormous").
      tags: added to "stress".
      **kwargs: passed to every cc_test.
    """
    tests = []
    variants = [("", {})] + [(k, env_variants[k]) for k in sorted(env_variants.keys())]
    for suffix, extra in variants:
        test_name = name + ("_" + suffix if suffix else "")
        test_env = dict(env)
        test_env.update(extra)
        native.cc_test(
            name = test_name,
            srcs = srcs,
            copts = TA_TEST_COPTS,
            linkopts = ["-pthread"],
            malloc = "//alloc:system_malloc",
            env = test_env,
            size = size,
            tags = ["stress"] + tags,
            deps = [
                ":harness",
                "//alloc:tamalloc",
                "//tests/testlib",
            ],
            **kwargs
        )
        tests.append(":" + test_name)
    native.test_suite(
        name = name + "_suite",
        tests = tests,
    )
