"""static_archive: one static archive holding every static library a C/C++ target links.

Bazel 4.2.3 has no cc_static_library. static_archive(name, deps, out) collects the static libraries
of the deps' CcInfo (the deps themselves and everything they depend on, in link order; the PIC
archives where Bazel built those) and merges them with an `ar` MRI script (addlib copies every
member). Link flags such as -pthread are not archived: the .pc files name them.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _static_archive_impl(ctx):
    libs = []
    seen = {}
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            for lib in linker_input.libraries:
                a = lib.pic_static_library or lib.static_library
                if a and a.path not in seen:
                    seen[a.path] = True
                    libs.append(a)
    if not libs:
        fail("static_archive %s: the deps link no static library" % ctx.label)
    cc_toolchain = find_cpp_toolchain(ctx)
    out = ctx.outputs.out
    script = "\n".join(["create " + out.path] + ["addlib " + a.path for a in libs] + ["save", "end", ""])
    ctx.actions.run_shell(
        inputs = depset(libs, transitive = [cc_toolchain.all_files]),
        outputs = [out],
        command = 'printf "%s" "$2" | "$1" -M',
        arguments = [cc_toolchain.ar_executable, script],
        mnemonic = "StaticArchive",
        progress_message = "Merging %d archives into %s" % (len(libs), out.short_path),
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

static_archive = rule(
    implementation = _static_archive_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo], mandatory = True),
        "out": attr.output(mandatory = True),
        "_cc_toolchain": attr.label(default = Label("@bazel_tools//tools/cpp:current_cc_toolchain")),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    incompatible_use_toolchain_transition = True,
)
