using System.CommandLine;

namespace EcpayEvents.Cli.CommandLine;

/// <summary>Adding shared options to a command.</summary>
public static class CommandExtensions
{
    /// <summary>Adds each option unless the command has it already (the same option serves several groups).</summary>
    public static T With<T>(this T command, params Option[] options) where T : Command
    {
        foreach (var option in options)
            if (!command.Options.Contains(option)) command.Options.Add(option);
        return command;
    }
}
