// A few non-variadic wrappers around libcurl: Swift cannot call the variadic
// curl_easy_setopt, so each argument type gets a function of its own.
#ifndef ALMANAC_CCURL_H
#define ALMANAC_CCURL_H

#include <curl/curl.h>

CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_setopt_read_function(CURL *handle, size_t (*function)(char *, size_t, size_t, void *));
/// The last reply code of the server (an SMTP 550, say), or 0.
long ccurl_response_code(CURL *handle);

#endif
