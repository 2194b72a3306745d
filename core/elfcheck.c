/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Quest loader profile (DESIGN.md §4): decides whether an i386 ELF image
 * may go to Quest and names the reason when it may not. The ELF header is
 * judged byte by byte (so a file still being written can be judged as far as
 * it goes); the program headers are read through libelf. */
#include "elfcheck.h"
#include "elfmodel.h"
#include "packet.h"
#include "qload.h"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EHDR_SIZE    52u
#define PHDR_SIZE    32u
#define QUEST_PAGE   4096u
#define SPACE_32     0x100000000ull /* one past the last 32-bit value */
#define INTERP_SHOWN 64		    /* bytes of a PT_INTERP path quoted */

/* Offsets in Elf32_Ehdr; the header is read by hand so that the bytes of a
 * prefix can be judged before the whole header has arrived. */
#define OFF_TYPE      offsetof(Elf32_Ehdr, e_type)
#define OFF_MACHINE   offsetof(Elf32_Ehdr, e_machine)
#define OFF_VERSION   offsetof(Elf32_Ehdr, e_version)
#define OFF_PHOFF     offsetof(Elf32_Ehdr, e_phoff)
#define OFF_SHOFF     offsetof(Elf32_Ehdr, e_shoff)
#define OFF_EHSIZE    offsetof(Elf32_Ehdr, e_ehsize)
#define OFF_PHENTSIZE offsetof(Elf32_Ehdr, e_phentsize)
#define OFF_PHNUM     offsetof(Elf32_Ehdr, e_phnum)
#define OFF_SHENTSIZE offsetof(Elf32_Ehdr, e_shentsize)

struct ctx {
	const uint8_t *buf;
	size_t len;
	const struct qelf_profile *p;
	int prefix;	/* QELF_PREFIX: missing bytes are not a fault */
	int incomplete; /* stopped early, waiting for more bytes */
	struct qelf_info *info;
	struct qerror *err;
};

/* One PT_LOAD's memory range, for the overlap check. */
struct range {
	uint64_t lo, hi;
	unsigned load;
};

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static unsigned libelf_version = EV_NONE;

static void libelf_init(void)
{
	libelf_version = elf_version(EV_CURRENT);
}

void qelf_profile_default(struct qelf_profile *p)
{
	p->max_size = qpkt_max_binary(QPKT_SLOT_DEFAULT);
	qelf_profile_quest(p, QLOAD_MASK_BOTH);
}

void qelf_profile_quest(struct qelf_profile *p, unsigned mask)
{
	p->quest_mask =
	    mask & QLOAD_MASK_BOTH ? mask & QLOAD_MASK_BOTH : QLOAD_MASK_BOTH;
	p->user_base = 0;
	p->user_limit = UINT32_MAX;
	for (int i = 0; i < QLOAD__NPROFILES; i++) {
		const struct qload_profile *q = qload_profile(i);
		if (!(p->quest_mask & (1u << i)))
			continue;
		if (q->user_base > p->user_base)
			p->user_base = q->user_base;
		if (q->user_limit < p->user_limit)
			p->user_limit = q->user_limit;
	}
}

enum qerr qelf_profile_window(struct qelf_profile *p, unsigned mask,
			      long long base, long long limit,
			      struct qerror *err)
{
	qelf_profile_quest(p, mask);
	if (base < 0)
		base = p->user_base;
	if (limit < 0)
		limit = p->user_limit;
	if (base >= limit || limit > 0xffffffffLL)
		return qerr_set(err, QE_USAGE,
				"user window [0x%llx, 0x%llx) is empty or too "
				"large",
				base, limit);
	p->user_base = (uint32_t)base;
	p->user_limit = (uint32_t)limit;
	return QE_OK;
}

static const struct {
	unsigned id;
	const char *name;
} machines[] = {
    {EM_NONE, "none"},
    {EM_M32, "AT&T WE 32100"},
    {EM_SPARC, "SPARC"},
    {EM_386, "i386"},
    {EM_68K, "m68k"},
    {EM_88K, "m88k"},
    {EM_IAMCU, "Intel MCU"},
    {EM_860, "i860"},
    {EM_MIPS, "MIPS"},
    {EM_S370, "IBM System/370"},
    {EM_MIPS_RS3_LE, "MIPS R3000 LE"},
    {EM_PARISC, "PA-RISC"},
    {EM_SPARC32PLUS, "SPARC32+"},
    {EM_960, "i960"},
    {EM_PPC, "PowerPC"},
    {EM_PPC64, "PPC64"},
    {EM_S390, "s390"},
    {EM_ARM, "ARM"},
    {EM_SH, "SuperH"},
    {EM_SPARCV9, "SPARC v9"},
    {EM_IA_64, "IA-64"},
    {EM_X86_64, "x86-64"},
    {EM_AVR, "AVR"},
    {EM_XTENSA, "Xtensa"},
    {EM_MSP430, "MSP430"},
    {EM_ALTERA_NIOS2, "Nios II"},
    {EM_TI_C6000, "TI C6000"},
    {EM_AARCH64, "AArch64"},
    {EM_CUDA, "NVIDIA CUDA"},
    {EM_AMDGPU, "AMD GPU"},
    {EM_RISCV, "RISC-V"},
    {EM_BPF, "BPF"},
    {EM_CSKY, "C-SKY"},
    {258, "LoongArch"}, /* EM_LOONGARCH, newer than Debian 12's elf.h */
};

const char *qelf_machine_name(unsigned machine, char *dst, size_t dstlen)
{
	const char *name = NULL;

	for (size_t i = 0; i < sizeof machines / sizeof machines[0]; i++)
		if (machines[i].id == machine)
			name = machines[i].name;
	if (dst && dstlen)
		snprintf(dst, dstlen, "%s (%u)", name ? name : "unknown",
			 machine);
	return dst;
}

static unsigned le16(const uint8_t *b)
{
	return (unsigned)b[0] | (unsigned)b[1] << 8;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* Are bytes [off, off+n) of the image present? */
static int have(const struct ctx *c, size_t off, size_t n)
{
	return c->len >= off && c->len - off >= n;
}

static void need_at_least(struct ctx *c, uint64_t n)
{
	if (n > c->info->need)
		c->info->need = n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

/* A prefix-mode fault that comes from the headers asking for more file than
 * a slot can ever carry. */
static enum qerr too_big_need(struct ctx *c, const char *what, uint64_t end)
{
	return qerr_set(c->err, QE_ELF_TOO_BIG,
			"%s ends at byte %llu of the file; the largest program "
			"that fits the %zu-byte slot is %zu bytes",
			what, (unsigned long long)end,
			c->p->max_size + QPKT_HDR_SIZE, c->p->max_size);
}

static enum qerr check_magic(struct ctx *c)
{
	static const uint8_t magic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2,
					       ELFMAG3};
	size_t n = c->len < SELFMAG ? c->len : SELFMAG;
	char got[3 * SELFMAG] = "";

	if (n == 0 || memcmp(c->buf, magic, n) == 0)
		return QE_OK;
	for (size_t i = 0; i < n; i++)
		snprintf(got + 3 * i, sizeof got - 3 * i, "%02x%s", c->buf[i],
			 i + 1 < n ? " " : "");
	return qerr_set(c->err, QE_ELF_MAGIC,
			"not an ELF file: first bytes are %s, not 7f 45 4c 46 "
			"(the byte 7f and the letters ELF)",
			got);
}

static enum qerr check_ident(struct ctx *c)
{
	const uint8_t *b = c->buf;

	if (have(c, EI_CLASS, 1) && b[EI_CLASS] != ELFCLASS32) {
		if (b[EI_CLASS] == ELFCLASS64)
			return qerr_set(c->err, QE_ELF_CLASS,
					"ELF class is 64-bit (ELFCLASS64); "
					"Quest runs 32-bit (ELFCLASS32) "
					"programs");
		return qerr_set(c->err, QE_ELF_CLASS,
				"ELF class is invalid (%u); Quest runs 32-bit "
				"(ELFCLASS32) programs",
				b[EI_CLASS]);
	}
	if (have(c, EI_DATA, 1) && b[EI_DATA] != ELFDATA2LSB) {
		if (b[EI_DATA] == ELFDATA2MSB)
			return qerr_set(c->err, QE_ELF_DATA,
					"ELF data encoding is big-endian "
					"(ELFDATA2MSB); Quest runs "
					"little-endian (ELFDATA2LSB) programs");
		return qerr_set(c->err, QE_ELF_DATA,
				"ELF data encoding is invalid (%u); Quest runs "
				"little-endian (ELFDATA2LSB) programs",
				b[EI_DATA]);
	}
	if (have(c, EI_VERSION, 1) && b[EI_VERSION] != EV_CURRENT)
		return qerr_set(c->err, QE_ELF_VERSION,
				"ELF identification version (EI_VERSION) is "
				"%u; Quest needs EV_CURRENT (1)",
				b[EI_VERSION]);
	return QE_OK;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case ET_NONE:
		return "no file type (ET_NONE)";
	case ET_REL:
		return "a relocatable object (ET_REL)";
	case ET_DYN:
		return "a shared object (ET_DYN)";
	case ET_CORE:
		return "a core file (ET_CORE)";
	default:
		return NULL;
	}
}

/* The fields after e_ident, each judged as soon as its bytes are present. */
static enum qerr check_fields(struct ctx *c)
{
	const uint8_t *b = c->buf;

	if (have(c, OFF_VERSION, 4) && le32(b + OFF_VERSION) != EV_CURRENT)
		return qerr_set(c->err, QE_ELF_VERSION,
				"ELF version (e_version) is %u; Quest needs "
				"EV_CURRENT (1)",
				(unsigned)le32(b + OFF_VERSION));
	if (have(c, OFF_EHSIZE, 2) && le16(b + OFF_EHSIZE) != EHDR_SIZE)
		return qerr_set(c->err, QE_ELF_EHSIZE,
				"ELF header size (e_ehsize) is %u; Quest needs "
				"%u (the 32-bit ELF header)",
				le16(b + OFF_EHSIZE), EHDR_SIZE);
	if (have(c, OFF_MACHINE, 2) && le16(b + OFF_MACHINE) != EM_386) {
		char m[48];
		qelf_machine_name(le16(b + OFF_MACHINE), m, sizeof m);
		return qerr_set(c->err, QE_ELF_MACHINE,
				"ELF machine is %s; Quest runs i386 (3) "
				"programs",
				m);
	}
	if (have(c, OFF_TYPE, 2) && le16(b + OFF_TYPE) != ET_EXEC) {
		unsigned t = le16(b + OFF_TYPE);
		const char *name = type_name(t);
		if (name)
			return qerr_set(c->err, QE_ELF_TYPE,
					"ELF type is %s; Quest runs static "
					"executables (ET_EXEC)",
					name);
		return qerr_set(c->err, QE_ELF_TYPE,
				"ELF type is unknown (%u); Quest runs static "
				"executables (ET_EXEC)",
				t);
	}
	return QE_OK;
}

static enum qerr check_header(struct ctx *c)
{
	enum qerr rc = check_magic(c);

	if (rc == QE_OK && !c->prefix && c->len < EHDR_SIZE) {
		if (c->len == 0)
			rc = qerr_set(c->err, QE_ELF_SHORT,
				      "file is empty; an ELF program starts "
				      "with a %u-byte header",
				      EHDR_SIZE);
		else
			rc = qerr_set(c->err, QE_ELF_SHORT,
				      "file is %zu bytes, shorter than the "
				      "%u-byte ELF header",
				      c->len, EHDR_SIZE);
	}
	if (rc == QE_OK)
		rc = check_ident(c);
	if (rc == QE_OK)
		rc = check_fields(c);
	need_at_least(c, EHDR_SIZE);
	if (have(c, offsetof(Elf32_Ehdr, e_entry), 4))
		c->info->entry = le32(c->buf + offsetof(Elf32_Ehdr, e_entry));
	if (rc == QE_OK && c->len < EHDR_SIZE)
		c->incomplete = 1;
	return rc;
}

/* Rule 6, as far as the ELF header alone can tell. */
static enum qerr check_phdr_table(struct ctx *c)
{
	const uint8_t *b = c->buf;
	uint32_t phoff = le32(b + OFF_PHOFF);
	unsigned phentsize = le16(b + OFF_PHENTSIZE);
	unsigned phnum = le16(b + OFF_PHNUM);
	uint64_t end = (uint64_t)phoff + (uint64_t)phnum * PHDR_SIZE;

	if (phnum == 0)
		return QE_OK;
	/* The real count would be in section 0, and sections are optional. */
	if (phnum == PN_XNUM)
		return qerr_set(c->err, QE_ELF_PHDR,
				"program header count is PN_XNUM (extended "
				"numbering through section 0); Quest needs "
				"e_phnum itself");
	if (phentsize != PHDR_SIZE)
		return qerr_set(c->err, QE_ELF_PHDR,
				"program header entry size (e_phentsize) is "
				"%u; Quest needs %u",
				phentsize, PHDR_SIZE);
	if (end > SPACE_32)
		return qerr_set(c->err, QE_ELF_PHDR,
				"program header table at offset 0x%x (%u x %u "
				"bytes) wraps around the 32-bit file offset",
				(unsigned)phoff, phnum, PHDR_SIZE);
	need_at_least(c, end);
	if (end <= c->len)
		return QE_OK;
	if (!c->prefix)
		return qerr_set(c->err, QE_ELF_PHDR,
				"program header table at offset 0x%x (%u x %u "
				"bytes) ends at byte %llu, past the end of the "
				"%zu-byte file",
				(unsigned)phoff, phnum, PHDR_SIZE,
				(unsigned long long)end, c->len);
	if (c->p->max_size && end > c->p->max_size)
		return too_big_need(c, "the program header table", end);
	c->incomplete = 1;
	return QE_OK;
}

/* libelf is given a private image of just the ELF header and the program
 * header table, with the section header fields cleared: it then parses what
 * we judge and nothing else (sections are optional, and a prefix has none
 * yet), and never sees, let alone writes, the caller's const buffer. */
static enum qerr read_phdrs(struct ctx *c, GElf_Phdr **out, size_t *count,
			    GElf_Ehdr *eh)
{
	const uint8_t *b = c->buf;
	size_t phnum = le16(b + OFF_PHNUM);
	size_t size = EHDR_SIZE + phnum * PHDR_SIZE;
	GElf_Phdr *ph = NULL;
	Elf *elf = NULL;
	size_t n = 0;
	enum qerr rc = QE_OK;
	uint8_t *img;

	pthread_once(&libelf_once, libelf_init);
	if (libelf_version == EV_NONE)
		return qerr_set(c->err, QE_ELF_LIBELF,
				"libelf does not support ELF version %u",
				EV_CURRENT);
	img = malloc(size);
	if (!img)
		return qerr_set(c->err, QE_NOMEM,
				"out of memory for %zu program headers", phnum);
	memcpy(img, b, EHDR_SIZE);
	if (phnum)
		memcpy(img + EHDR_SIZE, b + le32(b + OFF_PHOFF),
		       phnum * PHDR_SIZE);
	/* libelf refuses an e_phoff at the very end even with no entries. */
	img[OFF_PHOFF] = phnum ? EHDR_SIZE : 0;
	memset(img + OFF_PHOFF + 1, 0, 3);
	memset(img + OFF_SHOFF, 0, 4);
	memset(img + OFF_SHENTSIZE, 0, EHDR_SIZE - OFF_SHENTSIZE);

	elf = elf_memory((char *)img, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, eh) ||
	    elf_getphdrnum(elf, &n) != 0) {
		rc = qerr_set(c->err, QE_ELF_LIBELF,
			      "libelf refused the ELF header: %s",
			      elf_errmsg(-1));
		goto out;
	}
	if (n != phnum) {
		rc = qerr_set(c->err, QE_ELF_LIBELF,
			      "libelf counts %zu program headers, the header "
			      "says %zu",
			      n, phnum);
		goto out;
	}
	if (n) {
		ph = calloc(n, sizeof *ph);
		if (!ph) {
			rc = qerr_set(c->err, QE_NOMEM,
				      "out of memory for %zu program headers",
				      n);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph[i])) {
			rc = qerr_set(c->err, QE_ELF_LIBELF,
				      "libelf refused program header %zu: %s",
				      i, elf_errmsg(-1));
			goto out;
		}
	}
out:
	if (rc != QE_OK) {
		free(ph);
		ph = NULL;
		n = 0;
	}
	*out = ph;
	*count = n;
	elf_end(elf);
	free(img);
	return rc;
}

/* Quote up to INTERP_SHOWN bytes of the interpreter path that are present. */
static void interp_path(const struct ctx *c, const GElf_Phdr *ph, char *dst,
			size_t dstlen)
{
	size_t o = 0;

	dst[0] = '\0';
	if (ph->p_offset >= c->len)
		return;
	for (size_t i = 0; i < ph->p_filesz && i < INTERP_SHOWN &&
			   ph->p_offset + i < c->len && o + 2 < dstlen;
	     i++) {
		uint8_t ch = c->buf[ph->p_offset + i];
		if (ch == '\0')
			break;
		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[o] = '\0';
}

static enum qerr check_interp(struct ctx *c, const GElf_Phdr *ph, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_INTERP)
			continue;
		char path[INTERP_SHOWN + 2];
		interp_path(c, &ph[i], path, sizeof path);
		return qerr_set(
		    c->err, QE_ELF_INTERP,
		    "program asks for an interpreter (PT_INTERP%s%s)"
		    ": a dynamically linked Linux program cannot "
		    "run on Quest",
		    path[0] ? ": " : "", path);
	}
	return QE_OK;
}

/* Rules 8 and 9 for PT_LOAD number `load`. */
static enum qerr check_load(struct ctx *c, const GElf_Phdr *ph, unsigned load)
{
	uint64_t fend = ph->p_offset + ph->p_filesz;
	uint64_t mend = ph->p_vaddr + ph->p_memsz;
	const struct qelf_profile *p = c->p;
	char what[48];

	if (ph->p_filesz > ph->p_memsz)
		return qerr_set(c->err, QE_ELF_SEGSIZE,
				"PT_LOAD %u: file size 0x%llx is larger than "
				"its memory size 0x%llx",
				load, (unsigned long long)ph->p_filesz,
				(unsigned long long)ph->p_memsz);
	need_at_least(c, fend);
	if (fend > c->len) {
		if (!c->prefix)
			return qerr_set(c->err, QE_ELF_SEGFILE,
					"PT_LOAD %u: file bytes 0x%llx-0x%llx "
					"lie outside the %zu-byte file",
					load, (unsigned long long)ph->p_offset,
					(unsigned long long)fend, c->len);
		if (p->max_size && fend > p->max_size) {
			snprintf(what, sizeof what, "PT_LOAD %u", load);
			return too_big_need(c, what, fend);
		}
		c->incomplete = 1;
	}
	if (ph->p_offset % QUEST_PAGE != ph->p_vaddr % QUEST_PAGE)
		return qerr_set(c->err, QE_ELF_ALIGN,
				"PT_LOAD %u: file offset 0x%llx and address "
				"0x%llx differ modulo %u (0x%llx vs 0x%llx); "
				"Quest's loader would panic",
				load, (unsigned long long)ph->p_offset,
				(unsigned long long)ph->p_vaddr, QUEST_PAGE,
				(unsigned long long)(ph->p_offset % QUEST_PAGE),
				(unsigned long long)(ph->p_vaddr % QUEST_PAGE));
	if (mend > SPACE_32)
		return qerr_set(c->err, QE_ELF_WRAP,
				"PT_LOAD %u at 0x%llx with memory size 0x%llx "
				"wraps around the 32-bit address space",
				load, (unsigned long long)ph->p_vaddr,
				(unsigned long long)ph->p_memsz);
	if (ph->p_vaddr < p->user_base || mend > p->user_limit)
		return qerr_set(c->err, QE_ELF_WINDOW,
				"PT_LOAD %u at 0x%llx-0x%llx is outside "
				"Quest's user window [0x%x, 0x%x)",
				load, (unsigned long long)ph->p_vaddr,
				(unsigned long long)mend,
				(unsigned)p->user_base,
				(unsigned)p->user_limit);
	return QE_OK;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->load < y->load ? -1 : x->load > y->load;
}

/* Rule 10 on exact byte ranges: two segments may share a page (text ending
 * and data starting in it), never a byte. Sorted, so a table of thousands of
 * segments costs n log n, not n². */
static enum qerr check_overlap(struct ctx *c, const GElf_Phdr *ph, size_t n)
{
	struct range *r = calloc(n ? n : 1, sizeof *r);
	size_t nr = 0;
	unsigned load = 0;
	enum qerr rc = QE_OK;

	if (!r)
		return qerr_set(c->err, QE_NOMEM,
				"out of memory for %zu segments", n);
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_memsz)
			r[nr++] = (struct range){
			    ph[i].p_vaddr, ph[i].p_vaddr + ph[i].p_memsz, load};
		load++;
	}
	qsort(r, nr, sizeof *r, range_cmp);
	/* far: the range reaching highest so far; anything starting below its
	 * end overlaps it. */
	for (size_t i = 1, far = 0; i < nr && rc == QE_OK; i++) {
		if (r[i].lo < r[far].hi) {
			const struct range *a = &r[far], *b = &r[i];
			if (a->load > b->load) {
				const struct range *t = a;
				a = b;
				b = t;
			}
			rc = qerr_set(c->err, QE_ELF_OVERLAP,
				      "PT_LOAD %u [0x%llx, 0x%llx) and PT_LOAD "
				      "%u [0x%llx, 0x%llx) overlap in memory",
				      a->load, (unsigned long long)a->lo,
				      (unsigned long long)a->hi, b->load,
				      (unsigned long long)b->lo,
				      (unsigned long long)b->hi);
		}
		if (r[i].hi > r[far].hi)
			far = i;
	}
	free(r);
	return rc;
}

/* Quest enters the program at e_entry whatever the page's flags (32-bit
 * paging has no NX); it must be in the bytes the file gives a PT_LOAD. */
static enum qerr check_entry(struct ctx *c, const GElf_Phdr *ph, size_t n,
			     uint64_t entry)
{
	long in_bss = -1;
	unsigned load = 0;

	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (entry >= ph[i].p_vaddr &&
		    entry - ph[i].p_vaddr < ph[i].p_filesz)
			return QE_OK;
		if (in_bss < 0 && entry >= ph[i].p_vaddr &&
		    entry - ph[i].p_vaddr < ph[i].p_memsz)
			in_bss = load;
		load++;
	}
	if (in_bss >= 0)
		return qerr_set(c->err, QE_ELF_ENTRY,
				"entry point 0x%llx is in the zero-filled part "
				"of PT_LOAD %ld (past its file bytes): the "
				"program would start on zeros",
				(unsigned long long)entry, in_bss);
	return qerr_set(c->err, QE_ELF_ENTRY,
			"entry point 0x%llx is not inside any PT_LOAD: Quest "
			"would start the program on an unmapped page",
			(unsigned long long)entry);
}

/* What Quest's loader does with the segments (elfmodel.c). */
static enum qerr check_model(struct ctx *c, const GElf_Phdr *ph, size_t n)
{
	struct qelf_seg *segs = calloc(n ? n : 1, sizeof *segs);
	size_t ns = 0;
	unsigned load = 0;
	enum qerr rc;

	if (!segs)
		return qerr_set(c->err, QE_NOMEM,
				"out of memory for %zu segments", n);
	for (size_t i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		segs[ns++] = (struct qelf_seg){(uint32_t)ph[i].p_offset,
					       (uint32_t)ph[i].p_vaddr,
					       (uint32_t)ph[i].p_filesz,
					       (uint32_t)ph[i].p_memsz,
					       load++,
					       (int)i};
	}
	rc = qelf_model_check(c->buf, c->len, c->p, segs, ns,
			      c->prefix && c->incomplete, c->err);
	free(segs);
	return rc;
}

/* Rules 5 to 11, once the program header table is all present. */
static enum qerr check_segments(struct ctx *c)
{
	GElf_Phdr *ph = NULL;
	GElf_Ehdr eh;
	size_t n = 0;
	unsigned load = 0, live = 0;
	enum qerr rc = read_phdrs(c, &ph, &n, &eh);

	if (rc == QE_OK) {
		c->info->entry = (uint32_t)eh.e_entry;
		rc = check_interp(c, ph, n);
	}
	for (size_t i = 0; rc == QE_OK && i < n; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		c->info->nloads++;
		if (ph[i].p_memsz == 0)
			continue;
		uint64_t hi = ph[i].p_vaddr + ph[i].p_memsz;
		if (!live++ || ph[i].p_vaddr < c->info->lo)
			c->info->lo = (uint32_t)ph[i].p_vaddr;
		if (hi > c->info->hi)
			c->info->hi =
			    hi >= SPACE_32 ? UINT32_MAX : (uint32_t)hi;
	}
	if (rc == QE_OK && !live)
		rc = qerr_set(c->err, QE_ELF_NOLOAD,
			      "no loadable segment (PT_LOAD with p_memsz > "
			      "0): there is nothing for Quest to load");
	for (size_t i = 0; rc == QE_OK && i < n; i++)
		if (ph[i].p_type == PT_LOAD)
			rc = check_load(c, &ph[i], load++);
	if (rc == QE_OK)
		rc = check_overlap(c, ph, n);
	if (rc == QE_OK)
		rc = check_model(c, ph, n);
	if (rc == QE_OK)
		rc = check_entry(c, ph, n, eh.e_entry);
	free(ph);
	return rc;
}

static enum qerr check_size(struct ctx *c)
{
	size_t max = c->p->max_size;

	if (max && c->len > max)
		return qerr_set(c->err, QE_ELF_TOO_BIG,
				"program is %zu bytes; the largest that fits "
				"the %zu-byte slot is %zu",
				c->len, max + QPKT_HDR_SIZE, max);
	return QE_OK;
}

enum qerr qelf_check(const uint8_t *buf, size_t len,
		     const struct qelf_profile *p, enum qelf_mode mode,
		     struct qelf_info *info, struct qerror *err)
{
	struct qelf_profile defaults;
	struct qelf_info scratch;
	struct ctx c = {buf, len, p, mode == QELF_PREFIX, 0, info, err};
	enum qerr rc = QE_OK;

	if (!p) {
		qelf_profile_default(&defaults);
		c.p = &defaults;
	}
	if (!info)
		c.info = &scratch;
	memset(c.info, 0, sizeof *c.info);
	if (!buf && len)
		rc = qerr_set(err, QE_USAGE, "no image buffer for %zu bytes",
			      len);
	if (rc == QE_OK)
		rc = check_header(&c);
	if (rc == QE_OK && !c.incomplete)
		rc = check_phdr_table(&c);
	if (rc == QE_OK && !c.incomplete)
		rc = check_segments(&c);
	if (rc == QE_OK)
		rc = check_size(&c);
	if (rc == QE_OK && err) {
		err->code = QE_OK;
		err->msg[0] = '\0';
	}
	return rc;
}
