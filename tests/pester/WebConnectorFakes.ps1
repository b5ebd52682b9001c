# Fakes for the scripts that restart the Intuit Web Connector (restart-web-connector, and
# restart-tasks on a PC with only the Web Connector), on top of Helpers.ps1's fake machine:
# processes' elevation, the log folder's access rules, start-up entries, and one-shot tasks
# that bring QBWebConnector.exe back in their user's session. Dot-source after Helpers.ps1;
# call Set-WebConnectorFakeMock after Set-FakeMachineMock.
#
# Elevation: Helpers.ps1's stand-in for QbdFix.ProcessToken. The processes added here have a
# readable token, elevated or not; Set-FakeProcessElevation -Elevated $null makes one unreadable.

. (Join-Path -Path $PSScriptRoot -ChildPath 'InstallerFakes.ps1')

if ($null -eq ('FakeWindows.FolderSecurity' -as [type])) {
    Add-Type -Language CSharp -TypeDefinition @'
namespace FakeWindows
{
    // What Get-Acl returns for a folder (DirectorySecurity): its access rules, and the two
    // methods the scripts call. Rules are the real FileSystemAccessRule on Windows and a
    // FileSystemRule elsewhere.
    public class FolderSecurity
    {
        private readonly System.Collections.ArrayList rules = new System.Collections.ArrayList();

        public object[] GetAccessRules(bool includeExplicit, bool includeInherited, System.Type targetType)
        {
            return rules.ToArray();
        }

        public void AddAccessRule(object rule)
        {
            rules.Add(rule);
        }

        public int Count { get { return rules.Count; } }
    }

    // A FileSystemAccessRule, where .NET's access-control types do not work (Linux, macOS).
    public class FileSystemRule
    {
        public object IdentityReference { get; set; }
        public object FileSystemRights { get; set; }
        public object InheritanceFlags { get; set; }
        public object PropagationFlags { get; set; }
        public object AccessControlType { get; set; }
        public bool IsInherited { get; set; }
    }
}
'@
}

function New-WebConnectorRule {
    # One access rule of a folder, for a SID, with the real enum values.
    param(
        [Parameter(Mandatory = $true)] [string] $Sid,
        [Parameter(Mandatory = $true)] [System.Security.AccessControl.FileSystemRights] $Rights,
        [System.Security.AccessControl.InheritanceFlags] $Inheritance = 'ContainerInherit, ObjectInherit',
        [System.Security.AccessControl.AccessControlType] $Type = 'Allow',
        [switch] $Inherited
    )
    $rule = New-Object -TypeName FakeWindows.FileSystemRule
    $rule.IdentityReference = New-Object -TypeName FakeWindows.SecurityIdentifier -ArgumentList $Sid
    $rule.FileSystemRights = $Rights
    $rule.InheritanceFlags = $Inheritance
    $rule.PropagationFlags = [System.Security.AccessControl.PropagationFlags]::None
    $rule.AccessControlType = $Type
    $rule.IsInherited = [bool]$Inherited
    return $rule
}

function Get-WebConnectorFolderSecurity {
    # The access rules of a folder on the fake PC: ProgramData's defaults (Administrators and
    # SYSTEM full control, Users read) until a Set-Acl replaces them.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Path)
    if (-not $Machine.ContainsKey('FolderSecurity')) { $Machine['FolderSecurity'] = @{} }
    $key = $Path.TrimEnd('\', '/').ToLowerInvariant()
    if (-not $Machine['FolderSecurity'].ContainsKey($key)) {
        $security = New-Object -TypeName FakeWindows.FolderSecurity
        $security.AddAccessRule((New-WebConnectorRule -Sid 'S-1-5-18' -Rights FullControl -Inherited))
        $security.AddAccessRule((New-WebConnectorRule -Sid 'S-1-5-32-544' -Rights FullControl -Inherited))
        $security.AddAccessRule((New-WebConnectorRule -Sid 'S-1-5-32-545' -Rights ReadAndExecute -Inherited))
        $Machine['FolderSecurity'][$key] = $security
    }
    return $Machine['FolderSecurity'][$key]
}

function Get-WebConnectorUsersRule {
    # The rules a folder's security holds for BUILTIN\Users (S-1-5-32-545).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Path)
    $security = Get-WebConnectorFolderSecurity -Machine $Machine -Path $Path
    return @($security.GetAccessRules($true, $true, [string]) | Where-Object { [string]$_.IdentityReference.Value -eq 'S-1-5-32-545' })
}

function Add-WebConnectorProcess {
    # QBWebConnector.exe from the Web Connector's folder, run by a fake user; -Elevated as from
    # an elevated task or "Run as administrator".
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $User, [switch] $Elevated)
    $folder = Join-Path -Path $Machine.ProgramFiles86 -ChildPath 'Common Files\Intuit\QuickBooks\QBWebConnector'
    return Add-FakeProcess -Machine $Machine -Name 'QBWebConnector.exe' -ExecutablePath (Join-Path -Path $folder -ChildPath 'QBWebConnector.exe') -User $User -Elevated ([bool]$Elevated)
}

function Add-QuickBooksProcess {
    # QuickBooks (QBW32.exe, or -Name QBW.exe) run by a fake user, elevated or not.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $User, [string] $Name = 'QBW32.exe', [switch] $Elevated)
    return Add-FakeProcess -Machine $Machine -Name $Name -ExecutablePath ('C:\Program Files\Intuit\QuickBooks 2024\{0}' -f $Name) -User $User -Elevated ([bool]$Elevated)
}

function Test-WebConnectorAdministrator {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowEmptyString()] [string] $Sid)
    return @($Machine.Administrators | Where-Object { [string]$_.SID.Value -eq $Sid }).Count -gt 0
}

function Start-WebConnectorTask {
    # Start-ScheduledTask on the fake PC, and then what a started task does to the Web
    # Connector: a task whose program is QBWebConnector.exe and that ran brings it up in its
    # user's session, elevated when the task's run level is Highest and its user an
    # administrator. Every such start is recorded in WebConnectorStarts.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $InputObject, [AllowNull()] [object] $TaskName, [AllowNull()] [object] $TaskPath)
    Start-FakeTask -Machine $Machine -InputObject $InputObject -TaskName $TaskName -TaskPath $TaskPath
    $tasks = @($InputObject | Where-Object { $null -ne $_ })
    foreach ($name in @($TaskName | Where-Object { $null -ne $_ })) {
        $tasks += @(Get-FakeScheduledTask -Machine $Machine -TaskName ([string]$name) -TaskPath $TaskPath)
    }
    foreach ($task in $tasks) {
        $actions = @($task.Actions | Where-Object { $null -ne $_ -and $_.Execute })
        if ($actions.Count -eq 0 -or [System.IO.Path]::GetFileName(([string]$actions[0].Execute).Replace('\', '/')) -ne 'QBWebConnector.exe') { continue }
        $runLevel = [string]$task.Principal.RunLevel
        $userSid = [string]$task.Principal.UserId
        $null = $Machine['WebConnectorStarts'].Add([pscustomobject]@{ TaskName = [string]$task.TaskName; UserId = $userSid; RunLevel = $runLevel; Execute = [string]$actions[0].Execute })
        $ran = ($task.LastTaskResult -eq (Get-FakeTaskResult -Name 'Running')) -or ($task.LastTaskResult -eq (Get-FakeTaskResult -Name 'Success'))
        $runAs = Get-FakeTaskRunAs -Machine $Machine -Task $task
        if (-not $ran -or $null -eq $runAs -or $Machine['WebConnectorStaysAway']) { continue }
        $elevated = ($runLevel -eq 'Highest' -and (Test-WebConnectorAdministrator -Machine $Machine -Sid $runAs.OwnerSid))
        $null = Add-FakeProcess -Machine $Machine -Name 'QBWebConnector.exe' -ExecutablePath ([string]$actions[0].Execute) -Domain $runAs.OwnerDomain -User $runAs.OwnerUser -Sid $runAs.OwnerSid -Elevated $elevated
    }
}

function Set-WebConnectorFakeMock {
    # After Set-FakeMachineMock: tasks that start the Web Connector, the log folder's access
    # rules (recorded on the fake PC, never applied to a real folder), and a clean slate of
    # process elevations.
    Register-InstallerCommandStub
    [QbdFix.ProcessToken]::Elevated.Clear()
    Mock -CommandName Start-ScheduledTask -RemoveParameterType 'InputObject' -MockWith {
        if (-not $global:FakeMachine.ContainsKey('WebConnectorStarts')) { $global:FakeMachine['WebConnectorStarts'] = New-Object -TypeName System.Collections.ArrayList }
        Start-WebConnectorTask -Machine $global:FakeMachine -InputObject $PesterBoundParameters['InputObject'] -TaskName $PesterBoundParameters['TaskName'] -TaskPath $PesterBoundParameters['TaskPath']
    }
    Mock -CommandName Get-Acl -MockWith {
        Get-WebConnectorFolderSecurity -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
    Mock -CommandName Set-Acl -MockWith {
        $key = ([string]$PesterBoundParameters['LiteralPath']).TrimEnd('\', '/').ToLowerInvariant()
        $global:FakeMachine['FolderSecurity'][$key] = $PesterBoundParameters['AclObject']
        $global:FakeMachine['AclWrites'] = 1 + [int]$global:FakeMachine['AclWrites']
    }
    if (-not (Test-FakeHostIsWindows)) {
        Mock -CommandName New-Object -ParameterFilter { ([string]$PesterBoundParameters['TypeName']).StartsWith('System.Security.', [System.StringComparison]::OrdinalIgnoreCase) } -MockWith {
            $arguments = @($PesterBoundParameters['ArgumentList'])
            if (([string]$PesterBoundParameters['TypeName']).EndsWith('.SecurityIdentifier')) {
                return New-Object -TypeName FakeWindows.SecurityIdentifier -ArgumentList ([string]$arguments[0])
            }
            $rule = New-Object -TypeName FakeWindows.FileSystemRule
            $rule.IdentityReference = $arguments[0]
            $rule.FileSystemRights = [System.Security.AccessControl.FileSystemRights]$arguments[1]
            $rule.InheritanceFlags = [System.Security.AccessControl.InheritanceFlags]$arguments[2]
            $rule.PropagationFlags = [System.Security.AccessControl.PropagationFlags]$arguments[3]
            $rule.AccessControlType = [System.Security.AccessControl.AccessControlType]$arguments[4]
            return $rule
        }
    }
}

function Initialize-WebConnectorMachine {
    # Per test, after New-FakeMachine: the records the mocks above fill in.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine)
    $Machine['WebConnectorStarts'] = New-Object -TypeName System.Collections.ArrayList
    $Machine['FolderSecurity'] = @{}
    $Machine['AclWrites'] = 0
    $Machine['WebConnectorStaysAway'] = $false
}

function Add-StartupShortcut {
    # A shortcut in a Startup folder that names its target inside the file, as a .lnk does.
    param([Parameter(Mandatory = $true)] [string] $Folder, [Parameter(Mandatory = $true)] [string] $Name, [Parameter(Mandatory = $true)] [string] $Target)
    $path = Join-Path -Path $Folder -ChildPath $Name
    $null = [System.IO.Directory]::CreateDirectory($Folder)
    $bytes = [byte[]](76, 0, 0, 0) + [System.Text.Encoding]::Unicode.GetBytes($Target)
    [System.IO.File]::WriteAllBytes($path, $bytes)
    return $path
}

function Add-WebConnectorApp {
    # An application registered with the Web Connector in a signed-in user's hive
    # (HKEY_USERS\<SID>\Software\Intuit\QB web connector\<AppName>); by default Codat's, with its
    # AppURL and a password value whose data no script may read.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [object] $User,
        [string] $AppName = 'Codat QuickBooks Desktop',
        [hashtable] $Values = @{ AppURL = 'https://quickbooksdesktop.codat.io/qbwc'; PW = [byte[]](1, 2, 3) }
    )
    $path = 'Registry::HKEY_USERS\{0}\Software\Intuit\QB web connector\{1}' -f $User.Sid, $AppName
    return Add-FakeRegistryKey -Machine $Machine -Path $path -Values $Values
}
