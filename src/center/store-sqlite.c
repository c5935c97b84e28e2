/* store-sqlite.c — the SQLite backend of the centre's store (in progress). */
#include "store.h"

#include "vireo-error.h"

Store *
store_open_sqlite(const char *path, GError **error)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED, "the SQLite store is being written");
    return NULL;
}
