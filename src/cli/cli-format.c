/* cli-format.c — what `vireo` prints: sizes in binary units, aligned tables
 * and key/value blocks, pretty JSON, and the exit code of an error.
 */
#include "cli.h"

#include <string.h>

#include "vireo-error.h"

G_DEFINE_QUARK(vireo-cli-error-quark, cli_error)

static const char size_units[] = "KMGTPE";

gboolean
cli_size_parse(const char *text, guint64 *bytes, GError **error)
{
    g_autofree char *s = g_strstrip(g_strdup(text ? text : ""));
    char *end = NULL;
    double value = g_ascii_strtod(s, &end);
    double factor = 1;

    gboolean ok = end != s && value >= 0 && value < 1e30;

    if (ok && *end) {
        const char *unit = strchr(size_units, g_ascii_toupper(*end));
        ok = unit && *unit;
        for (const char *u = size_units; ok && u <= unit; u++)
            factor *= 1024;
        end++;
        ok = ok && (*end == '\0' || g_ascii_strcasecmp(end, "B") == 0 ||
                    g_ascii_strcasecmp(end, "iB") == 0);
    } else if (ok && strchr(s, '.')) {
        ok = FALSE;   /* fractional bytes */
    }
    if (ok && value * factor < 18446744073709551615.0) {
        *bytes = (guint64)(value * factor + 0.5);
        return TRUE;
    }
    g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                "'%s' is not a size: use bytes or a number with K, M, G or T (e.g. 512M, 10G)",
                text ? text : "");
    return FALSE;
}

char *
cli_size_format(guint64 bytes)
{
    double value = (double)bytes;
    int unit = -1;

    if (bytes < 1024)
        return g_strdup_printf("%" G_GUINT64_FORMAT " B", bytes);
    while (value >= 1024 && unit < (int)sizeof(size_units) - 2) {
        value /= 1024;
        unit++;
    }
    return g_strdup_printf("%.1f %ciB", value, size_units[unit]);
}

struct CliTable {
    guint columns;
    GPtrArray *rows;   /* of GStrv, first the headers */
};

CliTable *
cli_table_new(const char *const *headers)
{
    CliTable *table = g_new0(CliTable, 1);

    table->columns = g_strv_length((char **)headers);
    table->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    cli_table_add(table, headers);
    return table;
}

void
cli_table_free(CliTable *table)
{
    if (!table)
        return;
    g_ptr_array_unref(table->rows);
    g_free(table);
}

void
cli_table_add(CliTable *table, const char *const *cells)
{
    char **row = g_new0(char *, table->columns + 1);

    for (guint i = 0; i < table->columns; i++)
        row[i] = g_strdup(cells[i] && *cells[i] ? cells[i] : "-");
    g_ptr_array_add(table->rows, row);
}

void
cli_table_render(CliTable *table, GString *out)
{
    g_autofree glong *width = g_new0(glong, table->columns);

    for (guint r = 0; r < table->rows->len; r++) {
        char **row = g_ptr_array_index(table->rows, r);
        for (guint c = 0; c < table->columns; c++)
            width[c] = MAX(width[c], g_utf8_strlen(row[c], -1));
    }
    for (guint r = 0; r < table->rows->len; r++) {
        char **row = g_ptr_array_index(table->rows, r);
        for (guint c = 0; c < table->columns; c++) {
            g_string_append(out, row[c]);
            if (c + 1 < table->columns) {
                for (glong pad = g_utf8_strlen(row[c], -1); pad < width[c] + 2; pad++)
                    g_string_append_c(out, ' ');
            }
        }
        g_string_append_c(out, '\n');
    }
}

struct CliFields {
    GPtrArray *keys;
    GPtrArray *values;
};

CliFields *
cli_fields_new(void)
{
    CliFields *fields = g_new0(CliFields, 1);

    fields->keys = g_ptr_array_new_with_free_func(g_free);
    fields->values = g_ptr_array_new_with_free_func(g_free);
    return fields;
}

void
cli_fields_free(CliFields *fields)
{
    if (!fields)
        return;
    g_ptr_array_unref(fields->keys);
    g_ptr_array_unref(fields->values);
    g_free(fields);
}

void
cli_fields_add(CliFields *fields, const char *key, const char *value)
{
    if (!value)
        return;
    g_ptr_array_add(fields->keys, g_strdup_printf("%s:", key));
    g_ptr_array_add(fields->values, g_strdup(value));
}

void
cli_fields_render(CliFields *fields, GString *out)
{
    glong width = 0;

    for (guint i = 0; i < fields->keys->len; i++)
        width = MAX(width, g_utf8_strlen(g_ptr_array_index(fields->keys, i), -1));
    for (guint i = 0; i < fields->keys->len; i++) {
        const char *key = g_ptr_array_index(fields->keys, i);
        g_string_append(out, key);
        for (glong pad = g_utf8_strlen(key, -1); pad < width + 2; pad++)
            g_string_append_c(out, ' ');
        g_string_append_printf(out, "%s\n", (const char *)g_ptr_array_index(fields->values, i));
    }
}

void
cli_json_append(GString *out, JsonNode *node)
{
    g_autofree char *text = NULL;

    if (!node)
        return;
    text = json_to_string(node, TRUE);
    g_string_append_printf(out, "%s\n", text);
}

const char *
cli_json_str(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

gint64
cli_json_int(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node))
        return -1;
    if (json_node_get_value_type(node) == G_TYPE_INT64)
        return json_node_get_int(node);
    if (json_node_get_value_type(node) == G_TYPE_DOUBLE)
        return (gint64)json_node_get_double(node);
    return -1;
}

JsonObject *
cli_json_obj(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

CliExit
cli_exit_code_for_error(const GError *error)
{
    if (!error)
        return CLI_EXIT_OK;
    if (error->domain == CLI_ERROR)
        return CLI_EXIT_USAGE;
    if (error->domain != VIREO_ERROR)
        return CLI_EXIT_ERROR;
    switch ((VireoErrorCode)error->code) {
    case VIREO_ERROR_NOT_FOUND:
        return CLI_EXIT_NOT_FOUND;
    case VIREO_ERROR_UNAUTHENTICATED:
    case VIREO_ERROR_UNAUTHORIZED:
        return CLI_EXIT_AUTH;
    case VIREO_ERROR_RESOURCE_BUSY:
    case VIREO_ERROR_RESOURCE_IN_USE:
    case VIREO_ERROR_CONCURRENT_CHANGE:
    case VIREO_ERROR_ALREADY_EXISTS:
        return CLI_EXIT_BUSY;
    case VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE:
    case VIREO_ERROR_ALREADY_IN_DESIRED_STATE:
        return CLI_EXIT_STATE;
    case VIREO_ERROR_SERVICE_UNAVAILABLE:
    case VIREO_ERROR_TIMED_OUT:
        return CLI_EXIT_UNAVAILABLE;
    default:
        return CLI_EXIT_ERROR;
    }
}

static const struct {
    const char *api;
    const char *word;
} power_words[] = {
    { "POWERED_ON", "on" },
    { "POWERED_OFF", "off" },
    { "SUSPENDED", "suspended" },
};

const char *
cli_power_state_word(const char *state)
{
    for (guint i = 0; state && i < G_N_ELEMENTS(power_words); i++) {
        if (g_str_equal(power_words[i].api, state))
            return power_words[i].word;
    }
    return state;
}

const char *
cli_power_state_from_word(const char *word)
{
    for (guint i = 0; word && i < G_N_ELEMENTS(power_words); i++) {
        if (g_ascii_strcasecmp(power_words[i].word, word) == 0 ||
            g_ascii_strcasecmp(power_words[i].api, word) == 0)
            return power_words[i].api;
    }
    return NULL;
}
