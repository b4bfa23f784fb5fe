using System.CommandLine;
using System.CommandLine.Parsing;

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

    /// <summary>
    /// The option's value for a validator, or <paramref name="fallback"/> when its text does not convert (that is
    /// already a parse error of its own; GetValueOrDefault would throw).
    /// </summary>
    public static T ValueOr<T>(this OptionResult result, T fallback)
    {
        try
        {
            return result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return fallback;
        }
    }
}
