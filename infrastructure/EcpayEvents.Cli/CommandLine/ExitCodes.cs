namespace EcpayEvents.Cli.CommandLine;

/// <summary>
/// The exit codes of every command. "Could not look" (3) is kept apart from "found a problem" (1) so that a
/// schedule can tell an open review from an unreachable database; neither is bad usage (2).
/// </summary>
public static class ExitCodes
{
    /// <summary>Done; nothing wrong found.</summary>
    public const int Ok = 0;

    /// <summary>It ran and found a problem (a violation, something open or stuck, a mismatch, an invalid MAC), or the service said no.</summary>
    public const int Problem = 1;

    /// <summary>Bad usage: an unknown command or option, a missing or malformed value.</summary>
    public const int Usage = 2;

    /// <summary>Could not find out: the database, an endpoint or AWS could not be reached or refused the credentials.</summary>
    public const int Unavailable = 3;
}

/// <summary>Bad usage found after parsing (e.g. a setting given neither as an option nor in the environment): exit 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Something the command needs cannot be reached: exit 3.</summary>
public sealed class UnavailableException(string message, Exception? inner = null) : Exception(message, inner);
