namespace EcpayEvents.Cli.Output;

/// <summary>Rows as aligned columns under a header; the last column is free text (no padding after it), so output pipes cleanly.</summary>
public static class TextTable
{
    public static void Write(TextWriter stdout, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows, Func<int, string, string>? paint = null)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = Enumerable.Range(0, header.Count).Select(c => all.Max(r => r[c].Length)).ToArray();
        for (var r = 0; r < all.Count; r++)
        {
            var row = all[r];
            var cells = row.Select((cell, c) =>
            {
                var padded = c == row.Count - 1 ? cell : cell.PadRight(widths[c]);
                return r > 0 && paint is not null ? paint(c, padded) : padded;
            });
            stdout.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }
}
