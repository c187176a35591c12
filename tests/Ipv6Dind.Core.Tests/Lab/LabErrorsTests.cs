using Ipv6Dind.Core.Lab;

namespace Ipv6Dind.Core.Tests.Lab;

/// <summary>The lab's "not there / already there" errors: one message, id, category, parameter and remedy each.</summary>
public sealed class LabErrorsTests
{
    [Fact]
    public void EachErrorNamesItsParameterTheObjectAndWhatToDo()
    {
        var cases = new (DindException Error, string Id, DindErrorCategory Category, string Parameter, string Message, string Remedy)[]
        {
            (LabErrors.ClusterNotFound("lab"), ErrorIds.ClusterNotFound, DindErrorCategory.ObjectNotFound, "ClusterName",
                "ClusterName: there is no cluster named 'lab'.", "Get-DindCluster without a name lists the clusters on this Docker host."),
            (LabErrors.ClusterSpecUnreadable("lab"), ErrorIds.ClusterNotFound, DindErrorCategory.InvalidData, "ClusterName",
                "ClusterName: cluster 'lab' has no readable spec on its DNS64 container (it may be half removed).", "Remove-DindCluster lab removes what is left of it."),
            (LabErrors.ClusterExists("lab"), ErrorIds.ClusterExists, DindErrorCategory.ResourceExists, "ClusterName",
                "ClusterName: a cluster named 'lab' already exists.", "Choose another name, or remove it first with Remove-DindCluster lab."),
            (LabErrors.NodeNotFound("lab", "lab-node-9"), ErrorIds.NodeNotFound, DindErrorCategory.ObjectNotFound, "NodeName",
                "NodeName: cluster 'lab' has no node 'lab-node-9'.", "Get-DindNode lab lists the nodes."),
            (LabErrors.NoControlPlane("lab"), ErrorIds.NodeNotFound, DindErrorCategory.ObjectNotFound, "ClusterName",
                "ClusterName: 'lab' has no control-plane node.", "Reset-DindCluster lab makes its nodes again."),
        };
        foreach (var (error, id, category, parameter, message, remedy) in cases)
            Assert.Equal((id, category, parameter, message, remedy), (error.ErrorId, error.Category, error.ParameterName, error.Message, error.RecommendedAction));
    }

    [Fact]
    public void ANodeNotFoundWithTheKnownNodesOffersTheFirstFive()
    {
        var few = LabErrors.NodeNotFound("lab", "x", new[] { "lab-node-1", "lab-node-2" });
        Assert.Equal("Use one of: lab-node-1, lab-node-2.", few.RecommendedAction);
        var many = LabErrors.NodeNotFound("lab", "x", Enumerable.Range(1, 7).Select(i => $"lab-node-{i}").ToList());
        Assert.Equal("Use one of: lab-node-1, lab-node-2, lab-node-3, lab-node-4, lab-node-5, ….", many.RecommendedAction);
    }
}
