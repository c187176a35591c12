using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Spec;

/// <summary>Input spec (possibly partial) → complete, validated spec. The one path every spec source takes.</summary>
public static class SpecBuilder
{
    public static DindClusterSpec Resolve(DindClusterSpec input, PlanEnvironment environment)
    {
        var complete = SpecDefaults.Complete(input, environment);
        SpecValidator.EnsureValid(complete, environment);
        return complete;
    }
}
