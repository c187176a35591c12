using System.Text.Json.Nodes;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>
/// One kube-system ConfigMap of an addon (coredns, kube-proxy): GET, merge PATCH (changes counted), its data keys
/// read and written by tests, and <see cref="Exists"/> for 404s. Takes the cluster's lock itself.
/// </summary>
internal sealed class FakeConfigMap
{
    private readonly object _gate;
    private readonly Func<string> _nextResourceVersion;
    private JsonObject _object;
    private bool _exists = true;

    public FakeConfigMap(object gate, string name, IReadOnlyDictionary<string, string> data, Func<string> nextResourceVersion)
    {
        _gate = gate;
        _nextResourceVersion = nextResourceVersion;
        _object = FakeJson.ConfigMap("kube-system", name, data);
        _object["metadata"]!["resourceVersion"] = nextResourceVersion();
    }

    public bool Exists
    {
        get { lock (_gate) return _exists; }
        set { lock (_gate) _exists = value; }
    }

    /// <summary>Times it was changed through PATCH.</summary>
    public int Patches { get; private set; }

    public string? this[string key]
    {
        get { lock (_gate) return (string?)_object["data"]?[key]; }
        set { lock (_gate) { _object["data"]![key] = value; _object["metadata"]!["resourceVersion"] = _nextResourceVersion(); } }
    }

    public JsonObject? Get()
    {
        lock (_gate) return _exists ? (JsonObject)_object.DeepClone() : null;
    }

    public JsonObject? Patch(JsonNode patch)
    {
        lock (_gate)
        {
            if (!_exists) return null;
            if (JsonMergePatch.ApplyTo(ref _object, patch, _nextResourceVersion)) Patches++;
            return (JsonObject)_object.DeepClone();
        }
    }
}
