/* json-util.c — typed member access over json-glib with errors a user can act
 * on, compact serialisation, and parsing with a nesting limit that is checked
 * before json-glib builds (and recurses into) the tree.
 */
#include "json-util.h"

#include <string.h>

#include "vireo-error.h"

static const char *
node_kind(JsonNode *node)
{
    if (!node || JSON_NODE_HOLDS_NULL(node))
        return "null";
    if (JSON_NODE_HOLDS_OBJECT(node))
        return "an object";
    if (JSON_NODE_HOLDS_ARRAY(node))
        return "an array";
    switch (json_node_get_value_type(node)) {
    case G_TYPE_STRING:
        return "a string";
    case G_TYPE_BOOLEAN:
        return "a boolean";
    case G_TYPE_INT64:
        return "an integer";
    case G_TYPE_DOUBLE:
        return "a number";
    default:
        return "a value";
    }
}

/* The member's node, or NULL when absent or null (both mean "not given"). */
static JsonNode *
member_node(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;
    if (!node || JSON_NODE_HOLDS_NULL(node))
        return NULL;
    return node;
}

static gboolean
wrong_type(const char *where, const char *member, const char *expected, JsonNode *node,
           GError **error)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "Invalid value for '%s%s%s': expected %s, got %s", where ? where : "",
                where ? "." : "", member, expected, node_kind(node));
    return FALSE;
}

gboolean
json_util_get_string(JsonObject *obj, const char *member, const char *where, const char **out,
                     GError **error)
{
    JsonNode *node = member_node(obj, member);
    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return wrong_type(where, member, "a string", node, error);
    *out = json_node_get_string(node);
    return TRUE;
}

gboolean
json_util_get_int(JsonObject *obj, const char *member, const char *where, gint64 *out,
                  GError **error)
{
    JsonNode *node = member_node(obj, member);
    if (!node)
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_INT64) {
        *out = json_node_get_int(node);
        return TRUE;
    }
    /* 2.0 is an integer a client may well send; 2.5 and 1e300 are not. */
    if (JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_DOUBLE) {
        double d = json_node_get_double(node);
        if (d >= -9.0e18 && d <= 9.0e18 && d == (double)(gint64)d) {
            *out = (gint64)d;
            return TRUE;
        }
    }
    return wrong_type(where, member, "an integer", node, error);
}

gboolean
json_util_get_bool(JsonObject *obj, const char *member, const char *where, gboolean *out,
                   GError **error)
{
    JsonNode *node = member_node(obj, member);
    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return wrong_type(where, member, "a boolean", node, error);
    *out = json_node_get_boolean(node);
    return TRUE;
}

gboolean
json_util_get_object(JsonObject *obj, const char *member, const char *where, JsonObject **out,
                     GError **error)
{
    JsonNode *node = member_node(obj, member);
    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return wrong_type(where, member, "an object", node, error);
    *out = json_node_get_object(node);
    return TRUE;
}

gboolean
json_util_get_array(JsonObject *obj, const char *member, const char *where, JsonArray **out,
                    GError **error)
{
    JsonNode *node = member_node(obj, member);
    if (!node)
        return TRUE;
    if (!JSON_NODE_HOLDS_ARRAY(node))
        return wrong_type(where, member, "an array", node, error);
    *out = json_node_get_array(node);
    return TRUE;
}

JsonObject *
json_util_expect_object(JsonNode *node, const char *where, GError **error)
{
    if (node && JSON_NODE_HOLDS_OBJECT(node))
        return json_node_get_object(node);
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "Invalid value for '%s': expected an object, got %s", where ? where : "body",
                node ? node_kind(node) : "nothing");
    return NULL;
}

char *
json_util_to_string(JsonNode *node, gboolean pretty)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, pretty);
    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

/* The deepest nesting of [ and { in text, counted without building anything
 * (and without recursion), skipping string contents and their escapes.
 * Stops counting once past limit. */
static guint
json_nesting_depth(const char *text, gsize length, guint limit)
{
    guint depth = 0;
    guint deepest = 0;
    gboolean in_string = FALSE;

    for (gsize i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = FALSE;
            continue;
        }
        if (c == '"') {
            in_string = TRUE;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest)
                deepest = depth;
            if (deepest > limit)
                return deepest;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

JsonNode *
json_util_parse(const char *text, gssize length, guint max_depth, GError **error)
{
    g_return_val_if_fail(text != NULL || length == 0, NULL);
    gsize len = length < 0 ? strlen(text) : (gsize)length;
    const char *bad = NULL;

    if (!g_utf8_validate_len(text, len, &bad)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "Invalid JSON: not valid UTF-8 text (byte %" G_GSIZE_FORMAT ")",
                    (gsize)(bad - text));
        return NULL;
    }
    if (max_depth > 0 && json_nesting_depth(text, len, max_depth) > max_depth) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "Invalid JSON: nested deeper than %u levels", max_depth);
        return NULL;
    }

    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    g_autoptr(GError) local = NULL;
    if (!json_parser_load_from_data(parser, text, (gssize)len, &local)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "Invalid JSON: %s",
                    local->message);
        return NULL;
    }
    JsonNode *root = json_parser_steal_root(parser);
    if (!root) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "Invalid JSON: the text is empty");
        return NULL;
    }
    return root;
}

JsonNode *
json_util_string_node(const char *s)
{
    JsonNode *node = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(node, s);
    return node;
}
