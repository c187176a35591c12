using System.Text;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ipv6Dind.Core.Files;

/// <summary>
/// The few libc calls that .NET's file API does not offer and that safe writes as root need: opening relative to a
/// directory descriptor (openat, renameat, unlinkat, mkdirat) so that a path swapped after a check cannot redirect
/// the write, O_NOFOLLOW, statx for owner and mode without following links, and flock(2) itself (.NET's FileShare
/// locking can be switched off by an environment variable, DOTNET_SYSTEM_IO_DISABLEFILELOCKING, a lock cannot).
/// Linux only (the module's platform); flag values differ between x64 and arm64 and are chosen at run time.
/// </summary>
internal static class Libc
{
    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtEmptyPath = 0x1000;
    public const int AtRemoveDir = 0x200;

    public const int ORdOnly = 0, OWrOnly = 1, ORdWr = 2;
    public const int OCreat = 0x40, OExcl = 0x80, ONoCtty = 0x100, OTrunc = 0x200;
    public const int OCloExec = 0x80000;
    private static bool Arm => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    public static int ONoFollow => Arm ? 0x8000 : 0x20000;
    public static int ODirectory => Arm ? 0x4000 : 0x10000;

    public const int LockEx = 2, LockNb = 4, LockUn = 8;

    public const int EPerm = 1, ENoEnt = 2, EIntr = 4, EAcces = 13, EExist = 17, ENotDir = 20, EWouldBlock = 11, ELoop = 40, ENameTooLong = 36;

    public const uint SIfMt = 0xF000, SIfDir = 0x4000, SIfReg = 0x8000, SIfLnk = 0xA000, SIfSock = 0xC000;

    [DllImport("libc", SetLastError = true, EntryPoint = "openat")]
    private static extern int OpenAtRaw(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mode);

    [DllImport("libc", SetLastError = true, EntryPoint = "renameat")]
    private static extern int RenameAtRaw(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);

    [DllImport("libc", SetLastError = true, EntryPoint = "unlinkat")]
    private static extern int UnlinkAtRaw(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "mkdirat")]
    private static extern int MkdirAtRaw(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", SetLastError = true, EntryPoint = "statx")]
    private static extern unsafe int StatxRaw(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

    [DllImport("libc", SetLastError = true, EntryPoint = "readlinkat")]
    private static extern unsafe nint ReadLinkAtRaw(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* buffer, nuint size);

    [DllImport("libc", SetLastError = true, EntryPoint = "flock")]
    private static extern int FlockRaw(int fd, int operation);

    [DllImport("libc", SetLastError = true, EntryPoint = "fchown")]
    private static extern int FchownRaw(int fd, uint owner, uint group);

    [DllImport("libc", SetLastError = true, EntryPoint = "fchmod")]
    private static extern int FchmodRaw(int fd, uint mode);

    [DllImport("libc", SetLastError = true, EntryPoint = "fsync")]
    private static extern int FsyncRaw(int fd);

    [DllImport("libc", SetLastError = true, EntryPoint = "setns")]
    private static extern int SetNsRaw(int fd, int nstype);

    /// <summary>setns(2)'s type for a network namespace.</summary>
    public const int CloneNewNet = 0x40000000;

    /// <summary>setns(2): moves the calling thread (only it) into the namespace <paramref name="ns"/>; 0 or errno.</summary>
    public static int SetNs(SafeFileHandle ns, int type) => Errno(SetNsRaw(Fd(ns), type));

    [DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint GetEuid();

    [DllImport("libc", EntryPoint = "getegid")]
    public static extern uint GetEgid();

    [DllImport("libc", SetLastError = true, EntryPoint = "getgrnam")]
    private static extern IntPtr GetGrNamRaw([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    /// <summary>A file descriptor relative to <paramref name="dir"/> (null: the working directory); -1 and errno on failure.</summary>
    public static SafeFileHandle OpenAt(SafeFileHandle? dir, string path, int flags, uint mode, out int errno)
    {
        while (true)
        {
            var fd = OpenAtRaw(Fd(dir), path, flags | OCloExec, mode);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (fd < 0 && errno == EIntr) continue;
            return new SafeFileHandle(fd, ownsHandle: fd >= 0);
        }
    }

    public static int RenameAt(SafeFileHandle dir, string from, string to) => Errno(RenameAtRaw(Fd(dir), from, Fd(dir), to));
    public static int UnlinkAt(SafeFileHandle dir, string name, bool directory = false) => Errno(UnlinkAtRaw(Fd(dir), name, directory ? AtRemoveDir : 0));
    public static int MkdirAt(SafeFileHandle? dir, string name, uint mode) => Errno(MkdirAtRaw(Fd(dir), name, mode));
    public static int Fchown(SafeFileHandle file, uint uid, uint gid) => Errno(FchownRaw(Fd(file), uid, gid));
    public static int Fchmod(SafeFileHandle file, uint mode) => Errno(FchmodRaw(Fd(file), mode));
    public static int Fsync(SafeFileHandle file) => Errno(FsyncRaw(Fd(file)));

    /// <summary>readlinkat(2): the target of the link <paramref name="name"/> in <paramref name="dir"/>, as stored
    /// (relative targets stay relative); null and errno when it is not a link or cannot be read.</summary>
    public static unsafe string? ReadLinkAt(SafeFileHandle dir, string name, out int errno)
    {
        var buffer = new byte[4096];                    // PATH_MAX
        fixed (byte* p = buffer)
        {
            var n = ReadLinkAtRaw(Fd(dir), name, p, (nuint)buffer.Length);
            if (n < 0) { errno = Marshal.GetLastPInvokeError(); return null; }
            errno = 0;
            if (n >= buffer.Length) { errno = ENameTooLong; return null; }
            return Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    /// <summary>flock(2), retried on EINTR; 0 or errno (EWOULDBLOCK: held by another open file description).</summary>
    public static int Flock(SafeFileHandle file, int operation)
    {
        while (true)
        {
            var r = Errno(FlockRaw(Fd(file), operation));
            if (r != EIntr) return r;
        }
    }

    /// <summary>The group id of <paramref name="name"/>, or null when the group does not exist.</summary>
    public static uint? GroupId(string name)
    {
        var entry = GetGrNamRaw(name);
        if (entry == IntPtr.Zero) return null;
        // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }
        return (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
    }

    /// <summary>statx of <paramref name="path"/> relative to <paramref name="dir"/>, never following a final link; null and errno when it fails.</summary>
    public static FileFacts? Stat(SafeFileHandle? dir, string path, out int errno) => StatCore(Fd(dir), path, AtSymlinkNoFollow, out errno);

    /// <summary>statx of an open descriptor (fstat).</summary>
    public static FileFacts StatHandle(SafeFileHandle file) =>
        StatCore(Fd(file), "", AtEmptyPath | AtSymlinkNoFollow, out var errno)
        ?? throw new IOException($"fstat failed: {Marshal.GetPInvokeErrorMessage(errno)}");

    private static unsafe FileFacts? StatCore(int dirfd, string path, int flags, out int errno)
    {
        // struct statx is 256 bytes with the same layout on every architecture.
        var buffer = stackalloc byte[256];
        const uint basicStats = 0x7ff;
        if (StatxRaw(dirfd, path, flags, basicStats, buffer) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        errno = 0;
        return new FileFacts(
            Mode: *(ushort*)(buffer + 28),
            Uid: *(uint*)(buffer + 20),
            Gid: *(uint*)(buffer + 24),
            Links: *(uint*)(buffer + 16),
            Inode: *(ulong*)(buffer + 32),
            Size: *(ulong*)(buffer + 40),
            DeviceMajor: *(uint*)(buffer + 136),
            DeviceMinor: *(uint*)(buffer + 140));
    }

    public static string Message(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static int Errno(int result) => result == 0 ? 0 : Marshal.GetLastPInvokeError();

    private static int Fd(SafeFileHandle? handle) => handle is null ? AtFdCwd : (int)handle.DangerousGetHandle();
}

/// <summary>What statx says of a file: type and permission bits, owner, links, identity.</summary>
internal readonly record struct FileFacts(uint Mode, uint Uid, uint Gid, uint Links, ulong Inode, ulong Size, uint DeviceMajor, uint DeviceMinor)
{
    public uint Type => Mode & Libc.SIfMt;
    public bool IsDirectory => Type == Libc.SIfDir;
    public bool IsRegular => Type == Libc.SIfReg;
    public bool IsSymlink => Type == Libc.SIfLnk;
    public uint Permissions => Mode & 0xFFF;
    /// <summary>Group or others may create, rename and remove entries (a directory) or write (a file).</summary>
    public bool WritableByOthers => (Mode & 0x12) != 0;   // S_IWGRP | S_IWOTH
    public bool Sticky => (Mode & 0x200) != 0;
    public bool SameFile(FileFacts other) => Inode == other.Inode && DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor;
}
