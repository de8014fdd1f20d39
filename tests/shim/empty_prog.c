/* empty_prog.c - the reference for shim_split_test.sh: the same toolchain and link with no tamalloc,
 * so its constructors and destructors are the C runtime's own. */
int main(void) { return 0; }
