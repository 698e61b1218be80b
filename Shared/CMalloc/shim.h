#ifndef DX_CMALLOC_SHIM_H
#define DX_CMALLOC_SHIM_H
/* glibc's mallopt and its parameters, which Swift's Glibc module does not export. */
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif
#endif
