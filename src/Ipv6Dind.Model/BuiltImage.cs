namespace Ipv6Dind;

/// <summary>
/// One role image after Build-DindImage: its reference (ipv6dind/&lt;role&gt;:&lt;module version&gt;), image id, and
/// whether it was built now (<see cref="Built"/> true) or was already there with the same recipe (false).
/// </summary>
public sealed record BuiltImage(string Role, string Reference, string Id, bool Built)
{
    public override string ToString() => $"{Reference} {(Built ? "built" : "cached")}";
}
