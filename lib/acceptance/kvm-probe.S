/*
 * The KVM probe guest (lib/acceptance/accelerator.ts): a 512-byte boot sector that switches the CPU from real
 * mode straight to 64-bit long mode (identity-mapped first 2 MiB, one 2 MiB page) and writes a line to the first
 * serial port from long mode, then halts. Seeing the line proves that the accelerator runs a guest through the
 * mode switches a kernel makes; a KVM that only pretends (nested without hardware support) prints nothing in time.
 *
 * Assembled with GNU binutils (accelerator.test.ts checks that the bytes in accelerator.ts are these):
 *   as --64 -o probe.o kvm-probe.S && ld -m elf_x86_64 -Ttext=0x7c00 --oformat=binary -e _start -o probe.img probe.o
 */
        .code16
        .text
        .globl _start
_start:
        cli
        xor %ax, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $0x7c00, %sp
        cld
        /* Page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD): zero them, then one 2 MiB page at 0. */
        mov $0x1000, %di
        mov $0x1800, %cx
        rep stosw
        movw $0x2003, 0x1000
        movw $0x3003, 0x2000
        movw $0x0083, 0x3000
        /* PAE on, CR3 = PML4, EFER.LME on, then protection and paging together: long mode (compatibility). */
        mov %cr4, %eax
        or $0x20, %eax
        mov %eax, %cr4
        mov $0x1000, %eax
        mov %eax, %cr3
        mov $0xC0000080, %ecx
        rdmsr
        or $0x100, %eax
        wrmsr
        lgdtl gdtr
        mov %cr0, %eax
        or $0x80000001, %eax
        mov %eax, %cr0
        /* A far jump to a 64-bit code segment enters 64-bit mode. */
        ljmp $0x08, $long_mode
        .code64
long_mode:
        mov $0x3f8, %dx
        lea msg(%rip), %rsi
1:      lodsb
        test %al, %al
        jz 2f
        out %al, %dx
        jmp 1b
2:      cli
3:      hlt
        jmp 3b
        .balign 8
gdt:    .quad 0
        .quad 0x00209A0000000000    /* 64-bit code: present, ring 0, executable, L=1 */
        .quad 0x0000920000000000    /* data */
gdtr:   .word gdtr - gdt - 1
        .long gdt
msg:    .asciz "xcpng-kvm-probe: long mode ok\n"
        .org 510
        .word 0xAA55
