"""tamalloc_deps(): the repositories a workspace that depends on tamalloc needs, all offline.

In a WORKSPACE (examples/bazel_consumer is one):

    local_repository(name = "tamalloc", path = "path/to/tamalloc")
    load("@tamalloc//:deps.bzl", "tamalloc_deps")
    tamalloc_deps()

Bazel 4.2.3's built-in WORKSPACE suffix downloads rules_cc, rules_java, platforms,
remote_java_tools_linux and remote_coverage_tools unless the workspace defines them. tamalloc
keeps small offline stand-ins in third_party/ (its own WORKSPACE names them with local_repository
and relative paths, which would resolve against the consumer's directory, not tamalloc's), so
tamalloc_deps() declares each one as a repository of symlinks into tamalloc's third_party/, found
through the path of tamalloc's own repository. A repository the workspace already defines is left
alone. Also @cmocka (Debian's libcmocka-dev), which only tamalloc's own tests use.
"""

_THIRD_PARTY = [
    "rules_cc",
    "rules_java",
    "platforms",
    "remote_java_tools_linux",
    "remote_coverage_tools",
]

def _third_party_impl(rctx):
    # Label() in this file names tamalloc's repository, whatever the consumer calls it.
    root = rctx.path(Label("//:WORKSPACE")).dirname
    src = root.get_child("third_party").get_child(rctx.attr.dir)
    if not src.exists:
        fail("tamalloc_deps: %s does not exist" % src)
    for child in src.readdir():
        rctx.symlink(child, child.basename)

_tamalloc_third_party = repository_rule(
    implementation = _third_party_impl,
    attrs = {"dir": attr.string(mandatory = True)},
    local = True,
    doc = "A repository of symlinks to the entries of tamalloc's third_party/<dir>.",
)

def tamalloc_deps():
    """Declares the offline repositories tamalloc needs that the workspace does not define yet."""
    for name in _THIRD_PARTY:
        if not native.existing_rule(name):
            _tamalloc_third_party(name = name, dir = name)
    if not native.existing_rule("cmocka"):
        native.new_local_repository(
            name = "cmocka",
            path = "/usr/include",
            build_file = str(Label("//third_party/cmocka:BUILD")),
        )
