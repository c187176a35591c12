namespace Ipv6Dind.Core.Spec;

/// <summary>
/// What an importer made of a foreign configuration: the spec (unset fields left for SpecDefaults.Complete) and,
/// in order, every setting it read but could not carry over, so that nothing is dropped without a word.
/// The cmdlet writes each warning with WriteWarning.
/// </summary>
public sealed record SpecImportResult(DindClusterSpec Spec, IReadOnlyList<string> Warnings);
