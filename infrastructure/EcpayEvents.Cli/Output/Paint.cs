namespace EcpayEvents.Cli.Output;

/// <summary>ANSI colours, only when the output is a terminal (<see cref="CommandLine.CliContext.Color"/>).</summary>
public sealed class Paint(bool enabled)
{
    public string Red(string text) => enabled ? $"\e[31m{text}\e[0m" : text;
    public string Green(string text) => enabled ? $"\e[32m{text}\e[0m" : text;
    public string Yellow(string text) => enabled ? $"\e[33m{text}\e[0m" : text;
    public string Bold(string text) => enabled ? $"\e[1m{text}\e[0m" : text;
    public string Dim(string text) => enabled ? $"\e[2m{text}\e[0m" : text;
}
