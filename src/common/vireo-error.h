/* vireo-error.h — Vireo's error domain.
 *
 * Every error a user can cause carries one of these codes; each code maps to
 * one stable vSphere `error_type` string and one HTTP status, so the daemons
 * turn a GError into a response in one place and the CLI turns a response
 * back into a GError and an exit code.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define VIREO_ERROR (vireo_error_quark())
GQuark vireo_error_quark(void);

typedef enum {
    VIREO_ERROR_ERROR,                          /* ERROR, 500 */
    VIREO_ERROR_INVALID_ARGUMENT,               /* INVALID_ARGUMENT, 400 */
    VIREO_ERROR_NOT_FOUND,                      /* NOT_FOUND, 404 */
    VIREO_ERROR_ALREADY_EXISTS,                 /* ALREADY_EXISTS, 400 */
    VIREO_ERROR_ALREADY_IN_DESIRED_STATE,       /* ALREADY_IN_DESIRED_STATE, 400 */
    VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,   /* NOT_ALLOWED_IN_CURRENT_STATE, 400 */
    VIREO_ERROR_RESOURCE_BUSY,                  /* RESOURCE_BUSY, 409 */
    VIREO_ERROR_RESOURCE_IN_USE,                /* RESOURCE_IN_USE, 400 */
    VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,    /* UNABLE_TO_ALLOCATE_RESOURCE, 400 */
    VIREO_ERROR_UNAUTHENTICATED,                /* UNAUTHENTICATED, 401 */
    VIREO_ERROR_UNAUTHORIZED,                   /* UNAUTHORIZED, 403 */
    VIREO_ERROR_UNSUPPORTED,                    /* UNSUPPORTED, 400 */
    VIREO_ERROR_SERVICE_UNAVAILABLE,            /* SERVICE_UNAVAILABLE, 503 */
    VIREO_ERROR_TIMED_OUT,                      /* TIMED_OUT, 504 */
    VIREO_ERROR_UNEXPECTED_INPUT,               /* UNEXPECTED_INPUT, 400 */
    VIREO_ERROR_CONCURRENT_CHANGE,              /* CONCURRENT_CHANGE, 409 */
    VIREO_ERROR_N_CODES
} VireoErrorCode;

/* The vSphere error_type string of a code ("NOT_FOUND"). */
const char *vireo_error_type_name(VireoErrorCode code);
/* The code for an error_type string; VIREO_ERROR_ERROR when unknown. */
VireoErrorCode vireo_error_type_from_name(const char *name);
/* The HTTP status that goes with a code. */
guint vireo_error_http_status(VireoErrorCode code);
/* The code of any GError: VIREO_ERROR codes as they are, others as ERROR. */
VireoErrorCode vireo_error_code_of(const GError *error);

G_END_DECLS
