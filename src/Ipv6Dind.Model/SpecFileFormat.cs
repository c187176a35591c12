namespace Ipv6Dind;

/// <summary>Formats Import-DindClusterSpec reads. (Here, not in the core: cmdlet parameter types must load in the default context.)</summary>
public enum SpecFileFormat { Auto, Ipv6Dind, Lazyjack, Kind }
