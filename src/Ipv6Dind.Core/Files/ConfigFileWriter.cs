namespace Ipv6Dind.Core.Files;

/// <summary>
/// Writes text files the way a scheduled script needs them written: into place atomically (a temp file in the
/// same folder, then a rename), so a reader never sees half a file, and never over an existing file unless asked.
/// </summary>
public static class ConfigFileWriter
{
    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/>; returns the full path. On Unix,
    /// <paramref name="fileMode"/> is the file's mode from its creation (a secret is never readable by others, not
    /// even before a chmod), and <paramref name="newDirectoryMode"/> that of a folder that has to be created.
    /// </summary>
    public static string Write(string path, string content, bool overwrite, string existsErrorId, string failedErrorId, string parameterName,
        string overwriteHint = "Use -Force to overwrite it, or choose another path.",
        UnixFileMode? fileMode = null, UnixFileMode? newDirectoryMode = null)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new DindException(failedErrorId, DindErrorCategory.InvalidArgument,
                $"{parameterName}: '{full}' is a directory; give a file path.", path, parameterName, "Give the path of a file to write.");
        if (File.Exists(full) && !overwrite)
            throw new DindException(existsErrorId, DindErrorCategory.ResourceExists,
                $"{parameterName}: '{full}' already exists. {overwriteHint}", full, parameterName, overwriteHint);
        const UnixFileMode ReadableByAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode OpenFolder = ReadableByAll | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        try
        {
            // Relative to the open folder, never through a link another user planted (SecureDirectory).
            using var dir = SecureDirectory.Open(Path.GetDirectoryName(full)!, newDirectoryMode ?? OpenFolder);
            return dir.WriteFile(Path.GetFileName(full), content, fileMode ?? ReadableByAll, overwrite);
        }
        catch (FileExistsException)
        {
            throw new DindException(existsErrorId, DindErrorCategory.ResourceExists,
                $"{parameterName}: '{full}' already exists. {overwriteHint}", full, parameterName, overwriteHint);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DindException(failedErrorId, DindErrorCategory.WriteError,
                $"{parameterName}: cannot write '{full}': {ex.Message}", full, parameterName,
                "Check that the folder exists or can be created and that you may write there.", ex);
        }
    }
}
