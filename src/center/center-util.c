/* center-util.c — small helpers the centre's API handlers share. */
#include "center.h"
#include "vireo-error.h"

void
center_reply_error(ApiRequest *request, VireoErrorCode code, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_autoptr(GError) error = g_error_new_literal(VIREO_ERROR, code, msg);
    api_request_reply_error(request, error);
}

StoreObject *
center_lookup(Center *center, ApiRequest *request, const char *param, const char *kind)
{
    const char *id = api_request_param(request, param);
    g_autoptr(StoreObject) obj = id ? store_object_get(center->store, id, NULL) : NULL;
    if (!obj || (kind && !g_str_equal(obj->kind, kind)) ||
        !center_can_see(center, api_request_user(request), obj->id)) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no %s '%s'", kind ? kind : "object",
                           id ? id : "");
        return NULL;
    }
    return g_steal_pointer(&obj);
}

JsonNode *
center_string_array(GPtrArray *strings)
{
    JsonArray *arr = json_array_new();
    for (guint i = 0; strings && i < strings->len; i++)
        json_array_add_string_element(arr, g_ptr_array_index(strings, i));
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    return node;
}
