/* vireo-error.c — the error domain's string and HTTP status tables. */
#include "vireo-error.h"

G_DEFINE_QUARK(vireo-error-quark, vireo_error)

static const struct {
    const char *name;
    guint status;
} error_table[VIREO_ERROR_N_CODES] = {
    [VIREO_ERROR_ERROR] = { "ERROR", 500 },
    [VIREO_ERROR_INVALID_ARGUMENT] = { "INVALID_ARGUMENT", 400 },
    [VIREO_ERROR_NOT_FOUND] = { "NOT_FOUND", 404 },
    [VIREO_ERROR_ALREADY_EXISTS] = { "ALREADY_EXISTS", 400 },
    [VIREO_ERROR_ALREADY_IN_DESIRED_STATE] = { "ALREADY_IN_DESIRED_STATE", 400 },
    [VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE] = { "NOT_ALLOWED_IN_CURRENT_STATE", 400 },
    [VIREO_ERROR_RESOURCE_BUSY] = { "RESOURCE_BUSY", 409 },
    [VIREO_ERROR_RESOURCE_IN_USE] = { "RESOURCE_IN_USE", 400 },
    [VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE] = { "UNABLE_TO_ALLOCATE_RESOURCE", 400 },
    [VIREO_ERROR_UNAUTHENTICATED] = { "UNAUTHENTICATED", 401 },
    [VIREO_ERROR_UNAUTHORIZED] = { "UNAUTHORIZED", 403 },
    [VIREO_ERROR_UNSUPPORTED] = { "UNSUPPORTED", 400 },
    [VIREO_ERROR_SERVICE_UNAVAILABLE] = { "SERVICE_UNAVAILABLE", 503 },
    [VIREO_ERROR_TIMED_OUT] = { "TIMED_OUT", 504 },
    [VIREO_ERROR_UNEXPECTED_INPUT] = { "UNEXPECTED_INPUT", 400 },
    [VIREO_ERROR_CONCURRENT_CHANGE] = { "CONCURRENT_CHANGE", 409 },
};

const char *
vireo_error_type_name(VireoErrorCode code)
{
    if ((guint)code >= VIREO_ERROR_N_CODES)
        return "ERROR";
    return error_table[code].name;
}

VireoErrorCode
vireo_error_type_from_name(const char *name)
{
    for (guint i = 0; name && i < VIREO_ERROR_N_CODES; i++) {
        if (g_str_equal(error_table[i].name, name))
            return (VireoErrorCode)i;
    }
    return VIREO_ERROR_ERROR;
}

guint
vireo_error_http_status(VireoErrorCode code)
{
    if ((guint)code >= VIREO_ERROR_N_CODES)
        return 500;
    return error_table[code].status;
}

VireoErrorCode
vireo_error_code_of(const GError *error)
{
    if (error && error->domain == VIREO_ERROR && (guint)error->code < VIREO_ERROR_N_CODES)
        return (VireoErrorCode)error->code;
    return VIREO_ERROR_ERROR;
}
