/* Debian's SyncEvolution 2.0.0 crashes in its curl transport before its first message: it hands
 * C++ lambdas to curl_easy_setopt's varargs, so libcurl receives NULL read and write callbacks
 * and calls fread/fwrite on the transport object. Loaded with LD_PRELOAD, this file's
 * curl_easy_setopt puts callbacks in their place that call the transport's own exported
 * readData/writeData members. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>

#define CURL_WRITEFUNCTION 20011
#define CURL_READFUNCTION 20012

typedef int (*setopt_function)(void *, int, ...);
typedef size_t (*member_function)(void *transport, void *buffer, size_t length);

static member_function read_member, write_member;

static size_t read_callback(char *buffer, size_t size, size_t count, void *transport)
{
    return read_member(transport, buffer, size * count);
}

static size_t write_callback(char *buffer, size_t size, size_t count, void *transport)
{
    return write_member(transport, buffer, size * count);
}

int curl_easy_setopt(void *handle, int option, ...)
{
    static setopt_function next_setopt;
    va_list arguments;
    void *value;

    va_start(arguments, option);
    value = va_arg(arguments, void *);
    va_end(arguments);
    if (!next_setopt)
        next_setopt = (setopt_function)dlsym(RTLD_NEXT, "curl_easy_setopt");
    if (!read_member)
        read_member = (member_function)dlsym(
            RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent8readDataEPvm");
    if (!write_member)
        write_member = (member_function)dlsym(
            RTLD_DEFAULT, "_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm");
    if (value == NULL && option == CURL_WRITEFUNCTION && write_member)
        value = (void *)write_callback;
    if (value == NULL && option == CURL_READFUNCTION && read_member)
        value = (void *)read_callback;
    return next_setopt(handle, option, value);
}
