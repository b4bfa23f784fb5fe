using System.Text.Json;
using System.Xml.Linq;
using EcpayEvents.Testing;

namespace EcpayEvents.Infrastructure.Tests;

/// <summary>Which project may reference which: the table in the README's Layout, checked against every .csproj.</summary>
public sealed class ProjectReferenceRuleTests
{
    private const string Ecpay = "shared/EcpayEvents.Ecpay";
    private const string Payments = "shared/EcpayEvents.Payments";
    private const string Messaging = "shared/EcpayEvents.Messaging";
    private const string Hosting = "shared/EcpayEvents.Hosting";

    /// <summary>A project (its folder, or "folder/*") and the projects it may reference directly.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        [Ecpay] = [],
        [Hosting] = [],
        [Payments] = [Ecpay],
        [Messaging] = [Payments],
        ["services/*"] = [Ecpay, Payments, Messaging, Hosting],
        ["infrastructure/EcpayEvents.Cli"] = [Ecpay, Payments, Messaging],
        ["infrastructure/EcpayEvents.Sandbox"] = [Ecpay, Hosting],
        ["tests/EcpayEvents.Testing"] = ["shared/*", "infrastructure/*"],
        ["tests/*"] = ["shared/*", "services/*", "infrastructure/*", "tests/EcpayEvents.Testing"],
    };

    [Fact]
    public void EveryProjectReferenceFollowsTheRule()
    {
        var projects = Projects();
        Assert.Contains(Payments, projects.Keys);
        Assert.Equal([], Violations(projects));
    }

    [Fact]
    public void TheRuleCatchesAReferenceItDoesNotAllow()
    {
        var projects = Projects().ToDictionary(p => p.Key, p => p.Value);
        projects[Payments] = projects[Payments] with { References = [Ecpay, Messaging] };
        projects["services/EcpayEvents.Settlement"] = projects["services/EcpayEvents.Settlement"] with { References = ["services/EcpayEvents.Notifications"] };
        projects["tools/New"] = new Project([], []);
        Assert.Equal(
            [
                "services/EcpayEvents.Settlement may not reference services/EcpayEvents.Notifications",
                "shared/EcpayEvents.Payments may not reference shared/EcpayEvents.Messaging",
                "tools/New is in no rule: add it to ProjectReferenceRuleTests.Allowed and the README's Layout",
            ],
            Violations(projects).Order());
    }

    [Fact]
    public void NoAwsPackageIsInThePaymentsLibrarysClosureAndNoneNorMySqlInTheEcpayLibrarys()
    {
        var projects = Projects();
        Assert.DoesNotContain(ClosurePackages(projects, Payments), p => p.StartsWith("AWSSDK", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(ClosurePackages(projects, Ecpay), p => p.StartsWith("AWSSDK", StringComparison.OrdinalIgnoreCase) || p == "MySqlConnector");
        // NuGet's own closure of Payments, packages' dependencies included (restored with this test project's build).
        var assets = Path.Combine(RepoPaths.Root, Payments, "obj", "project.assets.json");
        using var restored = JsonDocument.Parse(File.ReadAllText(assets));
        var libraries = restored.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();
        Assert.Contains(libraries, l => l.StartsWith("MySqlConnector/", StringComparison.Ordinal));
        Assert.DoesNotContain(libraries, l => l.StartsWith("AWSSDK", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every project under shared/, services/, infrastructure/ and tests/, by folder relative to the repository.</summary>
    private static Dictionary<string, Project> Projects()
    {
        var projects = new Dictionary<string, Project>(StringComparer.Ordinal);
        foreach (var folder in new[] { "shared", "services", "infrastructure", "tests" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*.csproj", SearchOption.AllDirectories)
                         .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
            {
                var xml = XDocument.Load(file);
                var directory = Path.GetDirectoryName(file)!;
                var references = xml.Descendants("ProjectReference")
                    .Select(r => Relative(Path.GetDirectoryName(Path.GetFullPath(Path.Combine(directory, r.Attribute("Include")!.Value.Replace('\\', '/'))))!))
                    .ToArray();
                var packages = xml.Descendants("PackageReference").Select(p => p.Attribute("Include")!.Value).ToArray();
                projects[Relative(directory)] = new Project(references, packages);
            }
        return projects;
    }

    private static List<string> Violations(IReadOnlyDictionary<string, Project> projects)
    {
        var violations = new List<string>();
        foreach (var (name, project) in projects)
        {
            if (Rule(name) is not { } allowed)
            {
                violations.Add($"{name} is in no rule: add it to ProjectReferenceRuleTests.Allowed and the README's Layout");
                continue;
            }
            foreach (var reference in project.References)
                if (!projects.ContainsKey(reference))
                    violations.Add($"{name} references {reference}, which is not a project");
                else if (reference == name || !allowed.Any(a => Matches(a, reference)))
                    violations.Add($"{name} may not reference {reference}");
        }
        return violations;
    }

    private static string[]? Rule(string project) =>
        Allowed.TryGetValue(project, out var exact) ? exact
        : Allowed.Where(r => r.Key.EndsWith("/*", StringComparison.Ordinal) && Matches(r.Key, project)).Select(r => r.Value).FirstOrDefault();

    private static bool Matches(string pattern, string project) =>
        pattern.EndsWith("/*", StringComparison.Ordinal)
            ? project.StartsWith(pattern[..^1], StringComparison.Ordinal) && !project[(pattern.Length - 1)..].Contains('/', StringComparison.Ordinal)
            : pattern == project;

    private static HashSet<string> ClosurePackages(IReadOnlyDictionary<string, Project> projects, string root)
    {
        var packages = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([root]);
        while (pending.TryPop(out var name))
        {
            if (!seen.Add(name)) continue;
            packages.UnionWith(projects[name].Packages);
            foreach (var reference in projects[name].References) pending.Push(reference);
        }
        return packages;
    }

    private static string Relative(string directory) => Path.GetRelativePath(RepoPaths.Root, directory).Replace('\\', '/');

    private sealed record Project(string[] References, string[] Packages);
}
