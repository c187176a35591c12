using System.Text.Json.Nodes;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces.</summary>
internal static class JsonMergePatch
{
    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject) return patch?.DeepClone();
        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null) result.Remove(key);
            else result[key] = Apply(result[key], value);
        }
        return result;
    }

    /// <summary>
    /// A PATCH of one stored object as the fake applies it: a strategic merge patch is taken as a JSON merge patch,
    /// which it is for the maps the module touches ($-directives are refused); the object gets a new resourceVersion
    /// only when something changed. True when it changed.
    /// </summary>
    public static bool ApplyTo(ref JsonObject stored, JsonNode patch, Func<string> nextResourceVersion)
    {
        if (patch.ToJsonString().Contains("\"$", StringComparison.Ordinal))
            throw new NotSupportedException("The fake applies strategic merge patches as JSON merge patches; $-directives are not supported.");
        var before = stored.ToJsonString();
        var patched = (JsonObject)Apply(stored, patch)!;
        if (patched.ToJsonString() == before) return false;
        patched["metadata"]!["resourceVersion"] = nextResourceVersion();
        stored = patched;
        return true;
    }
}
