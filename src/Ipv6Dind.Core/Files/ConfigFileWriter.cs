namespace Ipv6Dind.Core.Files;

/// <summary>
/// Writes text files the way a scheduled script needs them written: into place atomically (a temp file in the
/// same folder, then a rename), so a reader never sees half a file, and never over an existing file unless asked.
/// </summary>
public static class ConfigFileWriter
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/>; returns the full path.</summary>
    public static string Write(string path, string content, bool overwrite, string existsErrorId, string failedErrorId, string parameterName,
        string overwriteHint = "Use -Force to overwrite it, or choose another path.")
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new DindException(failedErrorId, DindErrorCategory.InvalidArgument,
                $"{parameterName}: '{full}' is a directory; give a file path.", path, parameterName, "Give the path of a file to write.");
        if (File.Exists(full) && !overwrite)
            throw new DindException(existsErrorId, DindErrorCategory.ResourceExists,
                $"{parameterName}: '{full}' already exists. {overwriteHint}", full, parameterName, overwriteHint);
        var dir = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(temp, content);
            File.Move(temp, full, overwrite);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new DindException(failedErrorId, DindErrorCategory.WriteError,
                $"{parameterName}: cannot write '{full}': {ex.Message}", full, parameterName,
                "Check that the folder exists or can be created and that you may write there.", ex);
        }
    }

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
