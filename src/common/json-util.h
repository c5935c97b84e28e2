/* json-util.h — small helpers over json-glib for reading specs and building answers. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Members of an object with type checks. get_int also takes integral
 * doubles (2.0). Each returns FALSE and sets an
 * INVALID_ARGUMENT error naming `where.member` when the member is present
 * with the wrong type; an absent (or null) member leaves *out as it was and
 * returns TRUE. */
gboolean json_util_get_string(JsonObject *obj, const char *member, const char *where,
                              const char **out, GError **error);
gboolean json_util_get_int(JsonObject *obj, const char *member, const char *where,
                           gint64 *out, GError **error);
gboolean json_util_get_bool(JsonObject *obj, const char *member, const char *where,
                            gboolean *out, GError **error);
gboolean json_util_get_object(JsonObject *obj, const char *member, const char *where,
                              JsonObject **out, GError **error);
gboolean json_util_get_array(JsonObject *obj, const char *member, const char *where,
                             JsonArray **out, GError **error);
/* The node as an object, or an INVALID_ARGUMENT error. */
JsonObject *json_util_expect_object(JsonNode *node, const char *where, GError **error);

/* Serialises a node compactly. */
char *json_util_to_string(JsonNode *node, gboolean pretty);
/* Parses text (length -1: NUL-terminated) refusing invalid UTF-8 and nesting
 * deeper than max_depth (0: no limit), checked before any tree is built;
 * NULL + VIREO_ERROR_INVALID_ARGUMENT ("Invalid JSON: ...") on failure. */
JsonNode *json_util_parse(const char *text, gssize length, guint max_depth, GError **error);

/* A JSON string node (transfer full). */
JsonNode *json_util_string_node(const char *s);

G_END_DECLS
