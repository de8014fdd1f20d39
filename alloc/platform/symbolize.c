/* symbolize.c - ta_os_symbolize: dladdr for the object, its ELF file's symbol table for the
 * function (see symbolize.h). */
#include "alloc/platform/symbolize.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void sym_copy(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    while (src && src[n] && n + 1 < cap) { dst[n] = src[n]; n++; }
    dst[n] = 0;
}

/* The function containing addr (an address in the file's own terms) among the symbols of section
 * symtab (SHT_SYMTAB or SHT_DYNSYM) of the mapped ELF image; 0 when found. */
static int sym_search(const char *img, size_t size, const Elf64_Shdr *sh, unsigned nsec, unsigned symtab,
                      uintptr_t addr, ta_symbol *out) {
    const Elf64_Shdr *s = &sh[symtab];
    if (s->sh_link >= nsec || s->sh_entsize != sizeof(Elf64_Sym) || s->sh_offset + s->sh_size > size) return -1;
    const Elf64_Shdr *str = &sh[s->sh_link];
    if (str->sh_offset + str->sh_size > size) return -1;
    const Elf64_Sym *sym = (const Elf64_Sym *)(img + s->sh_offset);
    size_t n = s->sh_size / sizeof(Elf64_Sym);
    const Elf64_Sym *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC || sym[i].st_shndx == SHN_UNDEF || sym[i].st_value > addr) continue;
        if (addr < sym[i].st_value + (sym[i].st_size ? sym[i].st_size : 1) && (!best || sym[i].st_value > best->st_value))
            best = &sym[i];
    }
    if (!best || best->st_name >= str->sh_size) return -1;
    sym_copy(out->name, sizeof out->name, img + str->sh_offset + best->st_name);
    out->offset = addr - best->st_value;
    return 0;
}

/* Looks addr up in the ELF file at path (mapped read-only for the lookup); 0 when named. */
static int sym_from_file(const char *path, uintptr_t addr, ta_symbol *out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr)) {
        size_t size = (size_t)st.st_size;
        const char *img = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (img != MAP_FAILED) {
            const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
            if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
                eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) <= size &&
                eh->e_phentsize == sizeof(Elf64_Phdr) && eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) <= size) {
                /* addr is relative to the object's first loaded byte; symbols are in vaddr terms */
                const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
                uintptr_t first = 0;
                for (unsigned i = 0; i < eh->e_phnum; i++)
                    if (ph[i].p_type == PT_LOAD) { first = ph[i].p_vaddr - ph[i].p_offset; break; }
                const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
                unsigned dyn = eh->e_shnum;
                for (unsigned i = 0; i < eh->e_shnum && rc != 0; i++) {
                    if (sh[i].sh_type == SHT_SYMTAB) rc = sym_search(img, size, sh, eh->e_shnum, i, addr + first, out);
                    if (sh[i].sh_type == SHT_DYNSYM) dyn = i;
                }
                if (rc != 0 && dyn < eh->e_shnum) rc = sym_search(img, size, sh, eh->e_shnum, dyn, addr + first, out);
            }
            munmap((void *)img, size);
        }
    }
    close(fd);
    return rc;
}

int ta_os_symbolize(const void *pc, ta_symbol *out) {
    int saved = errno;
    out->name[0] = out->module[0] = 0;
    out->offset = 0;
    Dl_info info;
    int rc = -1;
    if (dladdr(pc, &info) && info.dli_fbase) {
        /* the main program's file name may be empty or relative: read it through /proc/self/exe */
        const char *file = info.dli_fname && info.dli_fname[0] == '/' ? info.dli_fname : "/proc/self/exe";
        sym_copy(out->module, sizeof out->module, info.dli_fname && info.dli_fname[0] ? info.dli_fname : file);
        rc = sym_from_file(file, (uintptr_t)pc - (uintptr_t)info.dli_fbase, out);
        if (rc != 0 && info.dli_sname) {
            sym_copy(out->name, sizeof out->name, info.dli_sname);
            out->offset = (uintptr_t)pc - (uintptr_t)info.dli_saddr;
            rc = 0;
        }
    }
    errno = saved;
    return rc;
}
