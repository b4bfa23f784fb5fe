using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using Microsoft.Extensions.Configuration;

namespace EcpayEvents.Hosting;

/// <summary>
/// Secrets from SSM Parameter Store SecureStrings, read once at start: <c>Ssm__Ecpay__HashKey=/ecpay-events/ecpay/hash-key</c>
/// fills <c>Ecpay:HashKey</c>. Without an "Ssm" section nothing is read; a missing parameter stops the service (named, never its value).
/// </summary>
public static class SsmSecrets
{
    public const string SectionName = "Ssm";

    public static void AddSsmSecrets(this IConfigurationManager configuration, Func<IAmazonSimpleSystemsManagement>? clientFactory = null)
    {
        var wanted = Wanted(configuration);
        if (wanted.Count == 0) return;

        using var client = clientFactory?.Invoke() ?? new AmazonSimpleSystemsManagementClient();
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var chunk in wanted.Chunk(10)) // GetParameters takes at most 10 names.
        {
            var response = client.GetParametersAsync(new GetParametersRequest
            {
                Names = chunk.Select(w => w.Parameter).Distinct().ToList(),
                WithDecryption = true,
            }).GetAwaiter().GetResult();

            if (response.InvalidParameters is { Count: > 0 } invalid)
                throw new InvalidOperationException($"SSM parameter(s) not found: {string.Join(", ", invalid)}");
            var byName = (response.Parameters ?? []).ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
            foreach (var (key, parameter) in chunk)
                values[key] = byName.TryGetValue(parameter, out var v) ? v : throw new InvalidOperationException($"SSM parameter not returned: {parameter}");
        }
        ((IConfigurationBuilder)configuration).AddInMemoryCollection(values);
    }

    /// <summary>(configuration key to fill, SSM parameter name) for every leaf under "Ssm".</summary>
    public static IReadOnlyList<(string Key, string Parameter)> Wanted(IConfiguration configuration) =>
        configuration.GetSection(SectionName).AsEnumerable(makePathsRelative: true)
            .Where(kv => !string.IsNullOrWhiteSpace(kv.Value))
            .Select(kv => (kv.Key, kv.Value!))
            .ToList();
}
