# Shared fixtures for the Pester tests of the rendered scripts in out/.
#
# A "fake machine" stands in for a Windows PC: real folders under TestDrive for Program Files,
# Program Files (x86), ProgramData and the user profiles (the environment variables point there
# while a test runs), and in-memory tables for what cannot be faked on disk: scheduled tasks,
# processes and their owners, services, the registry, antivirus and Defender state, events.
# Set-FakeMachineMock mocks the Windows cmdlets the scripts call so that they read those tables.
#
# The rendered scripts run in the caller's scope chain, so these names never contain 'Qbd'
# (a script function of the same name would shadow them), and mock bodies reach the current
# machine through $global:FakeMachine instead of a variable some script might also define.
# Mock bodies run under the scripts' Set-StrictMode -Version 3.0: every helper here is strict-clean.
#
# The same files run on Windows (Windows PowerShell 5.1 and PowerShell 7) and on Linux or macOS
# (PowerShell 7). Where a Windows command does not exist, Register-FakeCommandStub defines a
# stand-in with its Windows PowerShell 5.1 parameters so that Pester can mock it; where Windows has
# it, the real command stays and the mock replaces it the same way. A stand-in reached without a
# mock throws, naming the command. Windows objects are typed .NET objects (below), not
# [pscustomobject]s: PowerShell 7 lends a [pscustomobject] a .Count of 1 under strict mode, which
# Windows PowerShell 5.1 and the real CIM and Process objects do not, so a defect there would hide.

if ($null -eq ('FakeWindows.Process' -as [type])) {
    Add-Type -Language CSharp -TypeDefinition @'
namespace FakeWindows
{
    // What Get-Process returns (System.Diagnostics.Process): the properties the scripts read.
    public class Process
    {
        public int Id { get; set; }
        public string Name { get; set; }
        public string ProcessName { get; set; }
        public string Path { get; set; }
        public int SessionId { get; set; }
    }

    // A Win32_Process CIM instance, plus the owner GetOwner reports for it.
    public class CimProcess
    {
        public string Name { get; set; }
        public uint ProcessId { get; set; }
        public uint SessionId { get; set; }
        public string ExecutablePath { get; set; }
        public string CommandLine { get; set; }
        public System.DateTime CreationDate { get; set; }
        public string Handle { get; set; }
        public string OwnerDomain { get; set; }
        public string OwnerUser { get; set; }
        public string OwnerSid { get; set; }
    }

    // An MSFT_ScheduledTask instance. StartResult and StartState are the fake's script: what
    // LastTaskResult and State become when the task is started.
    public class ScheduledTask
    {
        public string TaskName { get; set; }
        public string TaskPath { get; set; }
        public string State { get; set; }
        public string Description { get; set; }
        public string Author { get; set; }
        public System.Nullable<System.DateTime> LastRunTime { get; set; }
        public uint LastTaskResult { get; set; }
        public uint StartResult { get; set; }
        public string StartState { get; set; }
        public TaskAction[] Actions { get; set; }
        public TaskPrincipal Principal { get; set; }
    }

    // An MSFT_TaskDynamicInfo instance (Get-ScheduledTaskInfo).
    public class ScheduledTaskInfo
    {
        public string TaskName { get; set; }
        public string TaskPath { get; set; }
        public System.Nullable<System.DateTime> LastRunTime { get; set; }
        public uint LastTaskResult { get; set; }
        public System.Nullable<System.DateTime> NextRunTime { get; set; }
        public uint NumberOfMissedRuns { get; set; }
    }

    // An MSFT_TaskExecAction instance (a task's Actions, New-ScheduledTaskAction).
    public class TaskAction
    {
        public string Execute { get; set; }
        public string Arguments { get; set; }
        public string WorkingDirectory { get; set; }
    }

    // An MSFT_TaskPrincipal2 instance (a task's Principal, New-ScheduledTaskPrincipal). UserId
    // holds a SID or an account name; a group principal has GroupId and an empty UserId.
    public class TaskPrincipal
    {
        public string UserId { get; set; }
        public string GroupId { get; set; }
        public string LogonType { get; set; }
        public string RunLevel { get; set; }
    }

    // An MSFT_TaskTimeTrigger instance (New-ScheduledTaskTrigger -Once -At).
    public class TaskTrigger
    {
        public string StartBoundary { get; set; }
        public string EndBoundary { get; set; }
        public bool Enabled { get; set; }
    }

    // System.Security.Principal.SecurityIdentifier as text: the real class exists only on Windows.
    public class SecurityIdentifier
    {
        public SecurityIdentifier(string value) { Value = value; }
        public string Value { get; private set; }
        public override string ToString() { return Value; }
    }

    // What Get-LocalGroupMember returns (Microsoft.PowerShell.Commands.LocalPrincipal).
    public class LocalPrincipal
    {
        public string Name { get; set; }
        public SecurityIdentifier SID { get; set; }
        public string ObjectClass { get; set; }
        public string PrincipalSource { get; set; }
    }

    // A registry key as Get-Item returns it (Microsoft.Win32.RegistryKey): value names, kinds and
    // values. Every GetValue is recorded in Reads ('<key>\<name>'), so a test can show that a
    // value was never read.
    public class RegistryKey
    {
        public RegistryKey()
        {
            Data = new System.Collections.Generic.Dictionary<string, object>(System.StringComparer.OrdinalIgnoreCase);
            Reads = new System.Collections.Generic.List<string>();
        }
        public string Name { get; set; }
        public string PSPath { get; set; }
        public string PSChildName { get; set; }
        public System.Collections.Generic.Dictionary<string, object> Data { get; private set; }
        public System.Collections.Generic.List<string> Reads { get; set; }
        public string[] GetValueNames()
        {
            string[] names = new string[Data.Count];
            Data.Keys.CopyTo(names, 0);
            return names;
        }
        public object GetValue(string name)
        {
            Reads.Add(Name + "\\" + name);
            object value;
            return Data.TryGetValue(name, out value) ? value : null;
        }
        public string GetValueKind(string name)
        {
            object value;
            if (!Data.TryGetValue(name, out value)) { throw new System.IO.IOException("The system cannot find the file specified."); }
            if (value is byte[]) { return "Binary"; }
            if (value is string[]) { return "MultiString"; }
            if (value is int || value is uint) { return "DWord"; }
            if (value is long || value is ulong) { return "QWord"; }
            return "String";
        }
        public void Close() { }
        public void Dispose() { }
    }

    // One access rule of a file or folder (System.Security.AccessControl.FileSystemAccessRule):
    // rights and propagation flags as their numbers, the type as its name.
    public class FileSystemAccessRule
    {
        public SecurityIdentifier IdentityReference { get; set; }
        public int FileSystemRights { get; set; }
        public string AccessControlType { get; set; }
        public int PropagationFlags { get; set; }
        public bool IsInherited { get; set; }
    }

    // What Get-Acl returns for a file or folder (FileSecurity/DirectorySecurity).
    public class FileSecurity
    {
        public FileSecurity() { Rules = new System.Collections.Generic.List<FileSystemAccessRule>(); }
        public System.Collections.Generic.List<FileSystemAccessRule> Rules { get; private set; }
        public FileSystemAccessRule[] GetAccessRules(bool includeExplicit, bool includeInherited, System.Type targetType)
        {
            return Rules.ToArray();
        }
    }
}
'@
}

if ($null -eq ('QbdFixNative.ProcessToken' -as [type])) {
    # The doctor reads a process's elevation from its token through a small class it compiles
    # (QbdFixNative.ProcessToken) unless one of that name exists: this stand-in answers from
    # Elevated (process ID -> elevated), and like the real one throws for a token it cannot read.
    Add-Type -Language CSharp -TypeDefinition @'
namespace QbdFixNative
{
    public static class ProcessToken
    {
        public static readonly System.Collections.Generic.Dictionary<int, bool> Elevated = new System.Collections.Generic.Dictionary<int, bool>();
        public static bool IsElevated(int processId)
        {
            bool elevated;
            if (Elevated.TryGetValue(processId, out elevated)) { return elevated; }
            throw new System.UnauthorizedAccessException("Access is denied.");
        }
    }
}
'@
}

function Get-FakeTaskResult {
    # Task Scheduler's LastTaskResult values, by name, for the outcomes a fake task can play back.
    param([Parameter(Mandatory = $true)] [ValidateSet('Success', 'Running', 'NeverRan', 'NeedsElevation', 'Refused', 'FileNotFound')] [string] $Name)
    $codes = @{
        Success        = [uint32]0              # ran and ended well
        Running        = [uint32]0x41301        # 267009: running now
        NeverRan       = [uint32]0x41303        # 267011: has not run yet
        NeedsElevation = [uint32]2147943140     # 0x800702E4: the program needs elevation
        Refused        = [uint32]2147946720     # 0x800710E0: refused (often: the user is not logged on)
        FileNotFound   = [uint32]2147942402     # 0x80070002: the program's file is missing
    }
    return $codes[$Name]
}

function Get-FakeCommandParameter {
    # Windows commands the rendered scripts call, with their Windows PowerShell 5.1 parameters
    # (../shared/reference/winps51_commands.json; -WhatIf/-Confirm where the command supports
    # ShouldProcess). tests/test_pester_files.py keeps this table equal to the reference.
    return [ordered]@{
    'Get-Service'                  = @('ComputerName', 'DependentServices', 'DisplayName', 'Exclude', 'Include', 'InputObject', 'Name', 'RequiredServices')
    'Get-CimInstance'              = @('CimSession', 'ClassName', 'ComputerName', 'Filter', 'InputObject', 'KeyOnly', 'Namespace', 'OperationTimeoutSec', 'Property', 'Query', 'QueryDialect', 'ResourceUri', 'Shallow')
    'Invoke-CimMethod'             = @('Arguments', 'CimClass', 'CimSession', 'ClassName', 'ComputerName', 'Confirm', 'InputObject', 'MethodName', 'Namespace', 'OperationTimeoutSec', 'Query', 'QueryDialect', 'ResourceUri', 'WhatIf')
    'Get-WinEvent'                 = @('ComputerName', 'Credential', 'FilterHashtable', 'FilterXPath', 'FilterXml', 'Force', 'ListLog', 'ListProvider', 'LogName', 'MaxEvents', 'Oldest', 'Path', 'ProviderName')
    'Get-ScheduledTask'            = @('AsJob', 'CimSession', 'TaskName', 'TaskPath', 'ThrottleLimit')
    'Get-ScheduledTaskInfo'        = @('AsJob', 'CimSession', 'InputObject', 'TaskName', 'TaskPath', 'ThrottleLimit')
    'Start-ScheduledTask'          = @('AsJob', 'CimSession', 'InputObject', 'TaskName', 'TaskPath', 'ThrottleLimit')
    'Stop-ScheduledTask'           = @('AsJob', 'CimSession', 'InputObject', 'TaskName', 'TaskPath', 'ThrottleLimit')
    'Export-ScheduledTask'         = @('AsJob', 'CimSession', 'InputObject', 'TaskName', 'TaskPath', 'ThrottleLimit')
    'Register-ScheduledTask'       = @('Action', 'AsJob', 'CimSession', 'Description', 'Force', 'InputObject', 'Password', 'Principal', 'RunLevel', 'Settings', 'TaskName', 'TaskPath', 'ThrottleLimit', 'Trigger', 'User', 'Xml')
    'Unregister-ScheduledTask'     = @('AsJob', 'CimSession', 'Confirm', 'InputObject', 'PassThru', 'TaskName', 'TaskPath', 'ThrottleLimit', 'WhatIf')
    'New-ScheduledTaskAction'      = @('Argument', 'AsJob', 'CimSession', 'Execute', 'Id', 'ThrottleLimit', 'WorkingDirectory')
    'New-ScheduledTaskPrincipal'   = @('AsJob', 'CimSession', 'GroupId', 'Id', 'LogonType', 'ProcessTokenSidType', 'RequiredPrivilege', 'RunLevel', 'ThrottleLimit', 'UserId')
    'New-ScheduledTaskSettingsSet' = @('AllowStartIfOnBatteries', 'AsJob', 'CimSession', 'Compatibility', 'DeleteExpiredTaskAfter', 'Disable', 'DisallowDemandStart', 'DisallowHardTerminate', 'DisallowStartOnRemoteAppSession', 'DontStopIfGoingOnBatteries', 'DontStopOnIdleEnd', 'ExecutionTimeLimit', 'Hidden', 'IdleDuration', 'IdleWaitTimeout', 'MaintenanceDeadline', 'MaintenanceExclusive', 'MaintenancePeriod', 'MultipleInstances', 'NetworkId', 'NetworkName', 'Priority', 'RestartCount', 'RestartInterval', 'RestartOnIdle', 'RunOnlyIfIdle', 'RunOnlyIfNetworkAvailable', 'StartWhenAvailable', 'ThrottleLimit', 'WakeToRun')
    'Get-MpComputerStatus'         = @('AsJob', 'CimSession', 'ThrottleLimit')
    'Get-MpPreference'             = @('AsJob', 'CimSession', 'ThrottleLimit')
    'Get-MpThreatDetection'        = @('AsJob', 'CimSession', 'ThreatID', 'ThrottleLimit')
    'Add-MpPreference'             = @('AsJob', 'CimSession', 'ExclusionExtension', 'ExclusionPath', 'ExclusionProcess', 'Force', 'ThreatIDDefaultAction', 'ThrottleLimit')
    'New-ScheduledTaskTrigger'     = @('AsJob', 'At', 'AtLogOn', 'AtStartup', 'CimSession', 'Daily', 'DaysInterval', 'DaysOfWeek', 'Once', 'RandomDelay', 'RepetitionDuration', 'RepetitionInterval', 'ThrottleLimit', 'User', 'Weekly', 'WeeksInterval')
    'Get-LocalGroupMember'         = @('Group', 'Member', 'Name', 'SID')
    'Get-Acl'                      = @('AllCentralAccessPolicies', 'Audit', 'Exclude', 'Filter', 'Include', 'InputObject', 'LiteralPath', 'Path', 'UseTransaction')
    }
}

function Get-FakeSwitchParameter {
    # The parameters above that are switches in Windows PowerShell 5.1; every other one takes a value.
    return @(
        'AllowStartIfOnBatteries', 'AsJob', 'DependentServices', 'Disable', 'DisallowDemandStart', 'DisallowHardTerminate',
        'DisallowStartOnRemoteAppSession', 'DontStopIfGoingOnBatteries', 'DontStopOnIdleEnd', 'Force', 'Hidden', 'KeyOnly',
        'ListLog', 'ListProvider', 'MaintenanceExclusive', 'Oldest', 'PassThru', 'RequiredServices', 'RestartOnIdle',
        'RunOnlyIfIdle', 'RunOnlyIfNetworkAvailable', 'Shallow', 'StartWhenAvailable', 'WakeToRun',
        'AtLogOn', 'AtStartup', 'Daily', 'Once', 'Weekly'
    )
}

function Test-FakeHostIsWindows {
    # $IsWindows does not exist in Windows PowerShell 5.1 (and strict mode forbids reading it there).
    return ([System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT)
}

function Skip-OffWindows {
    # For the few cases whose script logic treats '\' as the path separator in text (cutting a
    # file's path below its folder, "is this path under that folder"): on Linux and macOS every
    # path the file system returns uses '/', which no fake can change. They run on Windows.
    param([Parameter(Mandatory = $true)] [string] $Because)
    if (-not (Test-FakeHostIsWindows)) { Set-ItResult -Skipped -Because $Because }
}

function Register-FakeCommandStub {
    # Pester mocks only commands that exist. Define a stand-in for each Windows command this host
    # lacks (ScheduledTasks, CIM, Get-WinEvent, Get-Service on Linux; the Defender module on
    # Windows editions without it), with the 5.1 parameter names. Never replaces a real command.
    $table = Get-FakeCommandParameter
    $switches = Get-FakeSwitchParameter
    foreach ($name in $table.Keys) {
        if ($null -ne (Get-Command -Name $name -ErrorAction SilentlyContinue)) { continue }
        $parameters = @($table[$name])
        $binding = '[CmdletBinding()]'
        if ($parameters -contains 'WhatIf') { $binding = '[CmdletBinding(SupportsShouldProcess = $true)]' }
        $declared = @($parameters | Where-Object { $_ -ne 'WhatIf' -and $_ -ne 'Confirm' } | ForEach-Object {
                if ($switches -contains $_) { '[switch] ${0}' -f $_ } else { '[object] ${0}' -f $_ }
            })
        # Only names from the table above are spliced into this text.
        $body = "{0} param({1}) throw '{2} is not faked: this test reached the Windows command without a mock (Set-FakeMachineMock).'" -f $binding, ($declared -join ', '), $name
        $null = New-Item -Path ('Function:\global:{0}' -f $name) -Value ([scriptblock]::Create($body)) -Force
    }
}

function Register-FakeNativeGuard {
    # Programs a script may start by name that must never run from a test: shutdown.exe. A
    # function of that exact name is found before the program, on Windows too; Pester then
    # mocks it (Set-FakeMachineMock), and reaching it without the mock throws.
    $body = "throw 'shutdown.exe is not faked: this test reached it without a mock (Set-FakeMachineMock).'"
    $null = New-Item -Path 'Function:\global:shutdown.exe' -Value ([scriptblock]::Create($body)) -Force
}

function New-FakeMachine {
    param([Parameter(Mandatory = $true)] [string] $Root)
    $machine = @{
        Root           = $Root
        ProgramFiles86 = Join-Path -Path $Root -ChildPath 'ProgramFilesX86'
        ProgramFiles   = Join-Path -Path $Root -ChildPath 'ProgramFiles'
        ProgramData    = Join-Path -Path $Root -ChildPath 'ProgramData'
        Users          = Join-Path -Path $Root -ChildPath 'Users'
        SavedEnv       = @{}
        Tasks          = New-Object -TypeName System.Collections.ArrayList
        Started        = New-Object -TypeName System.Collections.ArrayList
        Processes      = New-Object -TypeName System.Collections.ArrayList
        NextProcessId  = 4000
        Profiles       = New-Object -TypeName System.Collections.ArrayList
        Registry       = @{}
        Services       = New-Object -TypeName System.Collections.ArrayList
        Antivirus      = New-Object -TypeName System.Collections.ArrayList
        SecurityCenter = $true
        Defender       = $null
        Exclusions     = New-Object -TypeName System.Collections.ArrayList
        Detections     = New-Object -TypeName System.Collections.ArrayList
        DetectionError = $null
        Events         = New-Object -TypeName System.Collections.ArrayList
        # The fake clock: Get-Date reads it and Start-Sleep moves it on, so a script that waits
        # for a task with a deadline gives up at once instead of after real seconds.
        Clock          = [datetime]::Now
        # How a one-shot task registered by a script (Start-QbdInUserSession) ends when started.
        OneShotOutcome = 'Running'
        # Accounts by user name (lower case): their SID, so processes and tasks can name them.
        Accounts       = @{}
        # The local Administrators group (S-1-5-32-544) as Get-LocalGroupMember lists it, and
        # whether it can be read (orphaned or Entra ID members make the real command fail).
        Administrators = New-Object -TypeName System.Collections.ArrayList
        AdministratorsReadable = $true
        # Every Register-ScheduledTask call: name, folder, program, principal and trigger.
        Registered     = New-Object -TypeName System.Collections.ArrayList
        # Process IDs that end right after Get-CimInstance lists them: asking for their owner then
        # fails, as it does on a PC when a process exits between the two calls.
        EndAfterListing = New-Object -TypeName System.Collections.ArrayList
        # Access rules by path (Set-FakeAcl); paths not listed get Get-FakeDefaultAcl's rules.
        # Paths in AclErrors make Get-Acl fail with that message.
        Acls           = @{}
        AclErrors      = @{}
        # Every registry value a script read with RegistryKey.GetValue ('<key>\<name>').
        RegistryReads  = New-Object -TypeName 'System.Collections.Generic.List[string]'
    }
    # Elevation by process ID (Add-FakeProcess -Elevated): what the doctor's token reader answers.
    [QbdFixNative.ProcessToken]::Elevated.Clear()
    $windows = Join-Path -Path $Root -ChildPath 'Windows'
    foreach ($folder in @($machine.ProgramFiles86, $machine.ProgramFiles, $machine.ProgramData, $machine.Users, $windows)) {
        $null = [System.IO.Directory]::CreateDirectory($folder)
    }
    $redirect = @{ 'ProgramFiles(x86)' = $machine.ProgramFiles86; 'ProgramFiles' = $machine.ProgramFiles; 'ProgramData' = $machine.ProgramData; 'COMPUTERNAME' = 'PC' }
    if (-not (Test-FakeHostIsWindows)) {
        # Linux and macOS have no Windows folder; on Windows the real one stays (programs need it).
        $redirect['WINDIR'] = $windows
        $redirect['SystemRoot'] = $windows
    }
    foreach ($name in $redirect.Keys) {
        $machine.SavedEnv[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $redirect[$name])
    }
    # Keys the scripts enumerate exist (empty) on every PC.
    foreach ($key in @(
            'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall',
            'Registry::HKEY_USERS',
            'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager'
        )) {
        $null = Add-FakeRegistryKey -Machine $machine -Path $key
    }
    $global:FakeMachine = $machine
    return $machine
}

function Restore-FakeMachine {
    if ($null -eq (Get-Variable -Name 'FakeMachine' -Scope Global -ErrorAction SilentlyContinue)) { return }
    $machine = $global:FakeMachine
    if ($null -ne $machine) {
        foreach ($name in $machine.SavedEnv.Keys) {
            [Environment]::SetEnvironmentVariable($name, $machine.SavedEnv[$name])
        }
    }
    Remove-Variable -Name 'FakeMachine' -Scope Global -ErrorAction SilentlyContinue
}

function New-FakeRoot {
    # A short, fresh folder per test: TestDrive lives as long as its Describe block.
    param([Parameter(Mandatory = $true)] [string] $Base)
    return Join-Path -Path $Base -ChildPath ([guid]::NewGuid().ToString('N').Substring(0, 8))
}

function Write-FakeFile {
    param([Parameter(Mandatory = $true)] [string] $Path, [string] $Text = '')
    $null = [System.IO.Directory]::CreateDirectory((Split-Path -Path $Path -Parent))
    [System.IO.File]::WriteAllText($Path, $Text, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
    return $Path
}

function Write-FakeProgram {
    # Not a real program: the scripts only test that the file is there and read its version.
    param([Parameter(Mandatory = $true)] [string] $Path)
    $null = [System.IO.Directory]::CreateDirectory((Split-Path -Path $Path -Parent))
    [System.IO.File]::WriteAllBytes($Path, [byte[]](77, 90, 0, 0))
    return $Path
}

function Add-FakeUser {
    # A user profile; -LoggedOn adds the user's explorer.exe (how the scripts tell who is signed
    # in), -Administrator makes the user a direct member of the local Administrators group.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $UserName,
        [string] $Domain = 'PC',
        [string] $Sid = '',
        [switch] $LoggedOn,
        [switch] $Administrator
    )
    $profilePath = Join-Path -Path $Machine.Users -ChildPath $UserName
    $null = [System.IO.Directory]::CreateDirectory((Join-Path -Path $profilePath -ChildPath 'Downloads'))
    if (-not $Sid) { $sid = 'S-1-5-21-1000-2000-3000-{0}' -f (1001 + $Machine.Profiles.Count) }
    $Machine.Accounts[$UserName.ToLowerInvariant()] = [pscustomobject]@{ Domain = $Domain; User = $UserName; Sid = $sid }
    $null = $Machine.Profiles.Add([pscustomobject]@{
            SID         = $sid
            LocalPath   = $profilePath
            Special     = $false
            Loaded      = [bool]$LoggedOn
            LastUseTime = (Get-Date).AddHours(-1)
        })
    if ($Administrator) {
        $null = Add-FakeAdministratorMember -Machine $Machine -Name ('{0}\{1}' -f $Domain, $UserName) -Sid $sid
    }
    if ($LoggedOn) {
        $null = Add-FakeProcess -Machine $Machine -Name 'explorer.exe' -ExecutablePath 'C:\Windows\explorer.exe' -Domain $Domain -User $UserName -Sid $sid
    }
    return [pscustomobject]@{ UserName = $UserName; Sid = $sid; Profile = $profilePath; Account = ('{0}\{1}' -f $Domain, $UserName) }
}

function Add-FakeAdministratorMember {
    # A direct member of the local Administrators group: a user, or a group (-ObjectClass Group,
    # e.g. a domain group), whose own members Get-LocalGroupMember does not list.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $Name,
        [Parameter(Mandatory = $true)] [string] $Sid,
        [ValidateSet('User', 'Group')] [string] $ObjectClass = 'User'
    )
    $member = New-Object -TypeName FakeWindows.LocalPrincipal
    $member.Name = $Name
    $member.SID = New-Object -TypeName FakeWindows.SecurityIdentifier -ArgumentList $Sid
    $member.ObjectClass = $ObjectClass
    $member.PrincipalSource = 'Local'
    $null = $Machine.Administrators.Add($member)
    return $member
}

function Get-FakeLocalGroupMember {
    # Get-LocalGroupMember -SID: only the Administrators group is modelled. Like the real one, it
    # fails for the whole group when a member cannot be resolved (AdministratorsReadable).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $Sid)
    if ([string]$Sid -ne 'S-1-5-32-544') { throw ('Group {0} was not found.' -f $Sid) }
    if (-not $Machine.AdministratorsReadable) { throw 'Failed to compare two elements in the array.' }
    foreach ($member in @($Machine.Administrators)) { $member }
}

function Get-FakeAccountSid {
    # The SID of a fake account by user name, or '' for an account the machine does not know.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowEmptyString()] [string] $User)
    if (-not $User) { return '' }
    $key = $User.ToLowerInvariant()
    if ($Machine.Accounts.ContainsKey($key)) { return [string]$Machine.Accounts[$key].Sid }
    return ''
}

function Add-FakeSystemProfile {
    # Win32_UserProfile also lists special profiles; the scripts must skip them.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine)
    $null = $Machine.Profiles.Add([pscustomobject]@{
            SID         = 'S-1-5-18'
            LocalPath   = 'C:\Windows\system32\config\systemprofile'
            Special     = $true
            Loaded      = $true
            LastUseTime = (Get-Date)
        })
}

function Add-FakeLegacyConnector {
    # Program Files (x86)\<client>\QuickBooks-connector with its program, logs and link.json.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $ClientName,
        [string] $LinkJson = '',
        [switch] $NoLinkJson
    )
    $install = Join-Path -Path (Join-Path -Path $Machine.ProgramFiles86 -ChildPath $ClientName) -ChildPath 'QuickBooks-connector'
    $null = Write-FakeProgram -Path (Join-Path -Path $install -ChildPath 'QuickbooksDesktop.exe')
    $null = Write-FakeProgram -Path (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe')
    $null = Write-FakeFile -Path (Join-Path -Path $install -ChildPath 'logs\connector.log') -Text ("2024-05-01 19:00:01 INFO Sync started`r`n2024-05-01 19:00:05 ERROR QuickBooks returned 0x80040408`r`n")
    $null = Write-FakeFile -Path (Join-Path -Path $install -ChildPath 'logs\connector.log.1') -Text ("2024-04-30 19:00:01 INFO Sync started`r`n")
    if (-not $NoLinkJson) {
        $null = Write-FakeFile -Path (Join-Path -Path $install -ChildPath 'link.json') -Text $LinkJson
    }
    return $install
}

function Add-FakeWebConnector {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine)
    $folder = Join-Path -Path $Machine.ProgramFiles86 -ChildPath 'Common Files\Intuit\QuickBooks\QBWebConnector'
    $null = Write-FakeProgram -Path (Join-Path -Path $folder -ChildPath 'QBWebConnector.exe')
    $null = Write-FakeFile -Path (Join-Path -Path $Machine.ProgramData -ChildPath 'Intuit\QBWebConnector\log\QWCLog.txt') -Text ("20240501.19:00:00 UTC : QBWebConnector started`r`n")
    return $folder
}

function Add-FakePerUserConnector {
    # The oldest generation: each user's AppData\Local\Codat.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [object] $User)
    $folder = Join-Path -Path $User.Profile -ChildPath 'AppData\Local\Codat'
    $null = Write-FakeProgram -Path (Join-Path -Path $folder -ChildPath 'QuickBooksDesktopConnector.exe')
    return $folder
}

function Add-FakeTask {
    # A task that has run before and ended well. -StartOutcome is what happens when it is started:
    # Running (the program keeps running: State Running, 0x41301), Success (it ran and ended: State
    # Ready, 0), NeverRan (it did not start: 0x41303 stays), NeedsElevation (0x800702E4), Refused
    # (0x800710E0, e.g. its user is not logged on) or FileNotFound (0x80070002), the last three
    # leaving State Ready. -Execute is its action's program, -UserId its principal (a SID or an
    # account name; empty with -GroupId for a group principal such as Users, S-1-5-32-545).
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $Name,
        [string] $TaskPath = '\',
        [string] $State = 'Ready',
        [ValidateSet('Running', 'Success', 'NeverRan', 'NeedsElevation', 'Refused', 'FileNotFound')] [string] $StartOutcome = 'Running',
        [ValidateSet('Running', 'Success', 'NeverRan', 'NeedsElevation', 'Refused', 'FileNotFound')] [string] $LastResult = 'Success',
        [string] $Execute = '',
        [string] $UserId = '',
        [string] $GroupId = '',
        [string] $LogonType = 'Interactive'
    )
    $task = New-Object -TypeName FakeWindows.ScheduledTask
    $task.TaskName = $Name
    $task.TaskPath = $TaskPath
    $task.State = $State
    $task.Description = ''
    $task.Author = 'Codat'
    $task.LastTaskResult = Get-FakeTaskResult -Name $LastResult
    if ($LastResult -ne 'NeverRan') { $task.LastRunTime = (Get-Date).AddHours(-2) }
    $task.StartResult = Get-FakeTaskResult -Name $StartOutcome
    $task.StartState = 'Ready'
    if ($StartOutcome -eq 'Running') { $task.StartState = 'Running' }
    $action = New-Object -TypeName FakeWindows.TaskAction
    $action.Execute = $Execute
    $task.Actions = [FakeWindows.TaskAction[]]@($action)
    $principal = New-Object -TypeName FakeWindows.TaskPrincipal
    $principal.UserId = $UserId
    $principal.GroupId = $GroupId
    $principal.LogonType = $LogonType
    $principal.RunLevel = 'Limited'
    $task.Principal = $principal
    $null = $Machine.Tasks.Add($task)
    return $task
}

function Add-FakeTaskPair {
    # QuickbooksDesktop_<client> and QuickbooksDesktopUi_<client>, as the legacy installer makes
    # them: both run the programs in Program Files (x86)\<client>\QuickBooks-connector (or
    # -Folder) as the installing user: -UserSid, by default the first fake user added (none: a
    # task without a user). -GroupId makes the UI task's principal a group instead.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $ClientName,
        [string] $TaskPath = '\',
        [string] $State = 'Ready',
        [ValidateSet('Running', 'Success', 'NeverRan', 'NeedsElevation', 'Refused', 'FileNotFound')] [string] $ServiceStartOutcome = 'Running',
        [ValidateSet('Running', 'Success', 'NeverRan', 'NeedsElevation', 'Refused', 'FileNotFound')] [string] $UiStartOutcome = 'Running',
        [string] $Folder = '',
        [string] $UserSid = '',
        [string] $GroupId = ''
    )
    if (-not $Folder) { $Folder = Get-FakeLegacyFolder -Machine $Machine -ClientName $ClientName }
    if (-not $PSBoundParameters.ContainsKey('UserSid') -and -not $GroupId) {
        $first = @($Machine.Profiles | Where-Object { -not $_.Special } | Select-Object -First 1)
        if ($first.Count -gt 0) { $UserSid = [string]$first[0].SID }
    }
    $service = Add-FakeTask -Machine $Machine -Name ('QuickbooksDesktop_' + $ClientName) -TaskPath $TaskPath -State $State -StartOutcome $ServiceStartOutcome -Execute (Join-Path -Path $Folder -ChildPath 'QuickbooksDesktop.exe') -UserId $UserSid
    $ui = Add-FakeTask -Machine $Machine -Name ('QuickbooksDesktopUi_' + $ClientName) -TaskPath $TaskPath -State $State -StartOutcome $UiStartOutcome -Execute (Join-Path -Path $Folder -ChildPath 'QuickbooksDesktopUI.exe') -UserId $UserSid -GroupId $GroupId
    return [pscustomobject]@{ Service = $service; Ui = $ui }
}

function Get-FakeLegacyFolder {
    # Program Files (x86)\<client>\QuickBooks-connector on the fake PC (it need not exist).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $ClientName)
    return Join-Path -Path (Join-Path -Path $Machine.ProgramFiles86 -ChildPath $ClientName) -ChildPath 'QuickBooks-connector'
}

function Add-FakeTrayProcess {
    # A client's tray app, QuickbooksDesktopUI.exe from its connector folder, run by a fake user.
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $ClientName,
        [Parameter(Mandatory = $true)] [string] $User,
        [string] $Folder = ''
    )
    if (-not $Folder) { $Folder = Get-FakeLegacyFolder -Machine $Machine -ClientName $ClientName }
    return Add-FakeProcess -Machine $Machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $Folder -ChildPath 'QuickbooksDesktopUI.exe') -User $User
}

function Add-FakeProcess {
    # One row of the process table, shaped like a Win32_Process instance (plus its owner).
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $Name,
        [string] $ExecutablePath = '',
        [string] $Domain = 'PC',
        [string] $User = '',
        [string] $CommandLine = '',
        [string] $Sid = '',
        [uint32] $SessionId = 1,
        # $true or $false: what the process's token says; $null: its token cannot be read.
        [AllowNull()] [object] $Elevated = $null
    )
    # The owner's SID: given, or the SID of the fake account of that name (GetOwnerSid).
    if (-not $Sid) { $Sid = Get-FakeAccountSid -Machine $Machine -User $User }
    $Machine.NextProcessId = $Machine.NextProcessId + 4
    $process = New-Object -TypeName FakeWindows.CimProcess
    $process.Name = $Name
    $process.ProcessId = [uint32]$Machine.NextProcessId
    $process.SessionId = $SessionId
    $process.ExecutablePath = $ExecutablePath
    $process.CommandLine = $CommandLine
    $process.CreationDate = (Get-Date).AddMinutes(-30)
    $process.Handle = [string]$Machine.NextProcessId
    $process.OwnerDomain = $Domain
    $process.OwnerUser = $User
    $process.OwnerSid = $Sid
    $null = $Machine.Processes.Add($process)
    if ($null -ne $Elevated) { [QbdFixNative.ProcessToken]::Elevated[[int]$process.ProcessId] = [bool]$Elevated }
    return $process
}

function Get-FakeProcess {
    # What Get-Process -Name or -Id returns: names without '.exe', one Process object per match,
    # and nothing at all (not an empty list) when none matches. (For an -Id that is gone the real
    # command also writes an error; the scripts silence it with -ErrorAction SilentlyContinue.)
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $Name, [AllowNull()] [object] $Id)
    $wanted = @($Name | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
    $ids = @($Id | Where-Object { $null -ne $_ } | ForEach-Object { [int]$_ })
    foreach ($process in @($Machine.Processes)) {
        $baseName = [System.IO.Path]::GetFileNameWithoutExtension([string]$process.Name)
        if ($wanted.Count -gt 0 -and -not ($wanted -contains $baseName)) { continue }
        if ($ids.Count -gt 0 -and -not ($ids -contains [int]$process.ProcessId)) { continue }
        $view = New-Object -TypeName FakeWindows.Process
        $view.Id = [int]$process.ProcessId
        $view.Name = $baseName
        $view.ProcessName = $baseName
        $view.Path = [string]$process.ExecutablePath
        $view.SessionId = [int]$process.SessionId
        $view
    }
}

function Stop-FakeProcess {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $Id)
    foreach ($processId in @($Id | Where-Object { $null -ne $_ })) {
        $gone = @($Machine.Processes | Where-Object { [int]$_.ProcessId -eq [int]$processId })
        foreach ($process in $gone) { $Machine.Processes.Remove($process) }
    }
}

function Select-FakeCimProcess {
    # Enough WQL for the scripts' filters: Name = '...' and Name LIKE '...%' joined by OR.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Filter)
    $terms = @()
    if ($Filter) {
        $terms = @([regex]::Matches($Filter, '(?i)Name\s*(=|LIKE)\s*''([^'']*)''') | ForEach-Object {
                [pscustomobject]@{ Like = ($_.Groups[1].Value -eq 'LIKE'); Value = $_.Groups[2].Value }
            })
    }
    foreach ($process in @($Machine.Processes)) {
        $name = [string]$process.Name
        $keep = ($terms.Count -eq 0)
        foreach ($term in $terms) {
            if ($term.Like) {
                if ($name -like ($term.Value -replace '%', '*')) { $keep = $true }
            } elseif ($name -eq $term.Value) {
                $keep = $true
            }
        }
        if ($keep) { $process }
    }
    foreach ($processId in @($Machine.EndAfterListing)) { Stop-FakeProcess -Machine $Machine -Id $processId }
    $Machine.EndAfterListing.Clear()
}

function Get-FakeProcessOwner {
    # Shaped like the result of Invoke-CimMethod -MethodName GetOwner (Domain, User) or
    # GetOwnerSid (Sid), each with ReturnValue: 0, or 2 (access denied: the other properties are
    # null) for a process whose owner cannot be read, as for a process of another session.
    param([AllowNull()] [object] $InputObject, [string] $MethodName = 'GetOwner', [hashtable] $Machine = $null)
    $process = @($InputObject)[0]
    if ($null -ne $Machine -and $process -is [FakeWindows.CimProcess] -and @($Machine.Processes | Where-Object { $_.ProcessId -eq $process.ProcessId }).Count -eq 0) {
        # The process has exited since it was listed: the CIM instance is gone. A non-terminating
        # error, as from the real command: -ErrorAction decides what the caller sees.
        Write-Error -Message 'Not found' -Category ObjectNotFound
        return
    }
    $known = ($process -is [FakeWindows.CimProcess]) -and [bool]$process.OwnerUser
    $returnValue = [uint32]0
    if (-not $known) { $returnValue = [uint32]2 }
    if ($MethodName -eq 'GetOwnerSid') {
        $sid = $null
        if ($known -and $process.OwnerSid) { $sid = [string]$process.OwnerSid }
        if ($null -eq $sid) { $returnValue = [uint32]2 }
        return [pscustomobject]@{ Sid = $sid; ReturnValue = $returnValue; PSComputerName = $null }
    }
    if ($MethodName -ne 'GetOwner') { throw ('Invoke-CimMethod -MethodName {0} is not faked.' -f $MethodName) }
    $user = $null
    $domain = $null
    if ($known) {
        $user = [string]$process.OwnerUser
        $domain = [string]$process.OwnerDomain
    }
    return [pscustomobject]@{ Domain = $domain; User = $user; ReturnValue = $returnValue; PSComputerName = $null }
}

function Get-FakeScheduledTask {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $TaskPath, [AllowNull()] [object] $TaskName)
    $paths = @($TaskPath | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
    $names = @($TaskName | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
    foreach ($task in @($Machine.Tasks)) {
        if ($paths.Count -gt 0 -and -not ($paths -contains [string]$task.TaskPath)) { continue }
        if ($names.Count -gt 0 -and -not ($names -contains [string]$task.TaskName)) { continue }
        $task
    }
}

function Start-FakeTask {
    # Plays back each task's StartOutcome. A task whose principal is a user runs only while that
    # user is signed in ("run only when user is logged on"); otherwise Task Scheduler refuses it
    # (0x800710E0). A UI task that really starts brings back the tray app from its action's
    # program, owned by its user (for a group principal: the first signed-in user).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $InputObject, [AllowNull()] [object] $TaskName, [AllowNull()] [object] $TaskPath)
    $tasks = @($InputObject | Where-Object { $null -ne $_ })
    foreach ($name in @($TaskName | Where-Object { $null -ne $_ })) {
        $named = @(Get-FakeScheduledTask -Machine $Machine -TaskName ([string]$name) -TaskPath $TaskPath)
        if ($named.Count -eq 0) { throw ('The system cannot find the file specified. (task {0})' -f $name) }
        $tasks += $named
    }
    foreach ($task in $tasks) {
        $null = $Machine.Started.Add([string]$task.TaskName)
        if ($task.StartResult -eq (Get-FakeTaskResult -Name 'NeverRan')) { continue }
        $runAs = Get-FakeTaskRunAs -Machine $Machine -Task $task
        $task.LastRunTime = Get-Date
        if ($null -eq $runAs) {
            $task.LastTaskResult = Get-FakeTaskResult -Name 'Refused'
            $task.State = 'Ready'
            continue
        }
        $task.LastTaskResult = $task.StartResult
        $task.State = $task.StartState
        $ran = ($task.StartResult -eq (Get-FakeTaskResult -Name 'Running')) -or ($task.StartResult -eq (Get-FakeTaskResult -Name 'Success'))
        $taskName = [string]$task.TaskName
        if ($ran -and $taskName.StartsWith('QuickbooksDesktopUi_', [System.StringComparison]::OrdinalIgnoreCase)) {
            $exe = ''
            $actions = @($task.Actions | Where-Object { $null -ne $_ -and $_.Execute })
            if ($actions.Count -gt 0) { $exe = [string]$actions[0].Execute }
            if (-not $exe) { $exe = Join-Path -Path (Get-FakeLegacyFolder -Machine $Machine -ClientName $taskName.Substring('QuickbooksDesktopUi_'.Length)) -ChildPath 'QuickbooksDesktopUI.exe' }
            $null = Add-FakeProcess -Machine $Machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath $exe -Domain $runAs.OwnerDomain -User $runAs.OwnerUser -Sid $runAs.OwnerSid
        }
    }
}

function Get-FakeTaskRunAs {
    # The signed-in user (their explorer.exe) a task would run as, or $null when it cannot run:
    # an interactive task of a user who is not signed in, or of a group while nobody is. A task
    # of a service account (SYSTEM) or without a principal runs without a user: a row with no owner.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [object] $Task)
    $explorers = @($Machine.Processes | Where-Object { $_.Name -eq 'explorer.exe' })
    $principal = $Task.Principal
    $userId = ''
    $groupId = ''
    $logonType = 'Interactive'
    if ($null -ne $principal) {
        $userId = [string]$principal.UserId
        $groupId = [string]$principal.GroupId
        $logonType = [string]$principal.LogonType
    }
    if ($logonType -eq 'ServiceAccount' -or (-not $userId -and -not $groupId)) {
        return [pscustomobject]@{ OwnerDomain = 'NT AUTHORITY'; OwnerUser = 'SYSTEM'; OwnerSid = 'S-1-5-18' }
    }
    if ($userId) {
        $sid = $userId
        if ($userId -notmatch '^S-1-') {
            $sid = Get-FakeAccountSid -Machine $Machine -User ($userId.Substring($userId.IndexOf('\') + 1))
        }
        $explorers = @($explorers | Where-Object { $_.OwnerSid -eq $sid })
    }
    if ($explorers.Count -eq 0) { return $null }
    return $explorers[0]
}

function New-FakeTaskAction {
    param([string] $Execute = '', [string] $Argument = '')
    $action = New-Object -TypeName FakeWindows.TaskAction
    $action.Execute = $Execute
    $action.Arguments = $Argument
    return $action
}

function New-FakeTaskPrincipal {
    param([string] $UserId = '', [string] $LogonType = '', [string] $RunLevel = '')
    $principal = New-Object -TypeName FakeWindows.TaskPrincipal
    $principal.UserId = $UserId
    $principal.LogonType = $LogonType
    $principal.RunLevel = $RunLevel
    return $principal
}

function New-FakeTaskTrigger {
    # New-ScheduledTaskTrigger -Once -At: the boundaries are text, as on the real CIM object.
    param([AllowNull()] [object] $At, [switch] $Once)
    if (-not $Once -or $null -eq $At) { throw 'Only New-ScheduledTaskTrigger -Once -At is faked.' }
    $trigger = New-Object -TypeName FakeWindows.TaskTrigger
    $trigger.StartBoundary = ([datetime]$At).ToString('s')
    $trigger.Enabled = $true
    return $trigger
}

function Register-FakeTask {
    # Register-ScheduledTask: records the call (Registered) and adds the task, which has never
    # run; started, it plays back the machine's OneShotOutcome. A trigger only schedules it.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [System.Collections.IDictionary] $Parameters)
    $taskPath = '\'
    if ($Parameters.Contains('TaskPath')) { $taskPath = [string]$Parameters['TaskPath'] }
    $action = @($Parameters['Action'] | Where-Object { $null -ne $_ })
    $principal = $Parameters['Principal']
    $execute = ''
    $argument = ''
    if ($action.Count -gt 0) {
        $execute = [string]$action[0].Execute
        $argument = [string]$action[0].Arguments
    }
    $userId = ''
    $logonType = 'Interactive'
    if ($null -ne $principal) {
        $userId = [string]$principal.UserId
        $logonType = [string]$principal.LogonType
    }
    $trigger = @($Parameters['Trigger'] | Where-Object { $null -ne $_ })
    $null = $Machine.Registered.Add([pscustomobject]@{
            TaskName  = [string]$Parameters['TaskName']
            TaskPath  = $taskPath
            Execute   = $execute
            Argument  = $argument
            UserId    = $userId
            LogonType = $logonType
            Trigger   = $(if ($trigger.Count -gt 0) { $trigger[0] } else { $null })
        })
    $task = Add-FakeTask -Machine $Machine -Name ([string]$Parameters['TaskName']) -TaskPath $taskPath -LastResult 'NeverRan' -StartOutcome $Machine.OneShotOutcome -Execute $execute -UserId $userId -LogonType $logonType
    if ($null -ne $principal) { $task.Principal.RunLevel = [string]$principal.RunLevel }
    return $task
}

function Get-FakeTaskInfo {
    # Get-ScheduledTaskInfo: the last run of the task given by object or by name.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $InputObject, [AllowNull()] [object] $TaskName)
    $task = @($InputObject | Where-Object { $null -ne $_ })
    if ($task.Count -eq 0) {
        $name = [string]@($TaskName)[0]
        $task = @(Get-FakeScheduledTask -Machine $Machine -TaskName $name)
        if ($task.Count -eq 0) { throw ('The system cannot find the file specified. (task {0})' -f $name) }
    }
    $info = New-Object -TypeName FakeWindows.ScheduledTaskInfo
    $info.TaskName = [string]$task[0].TaskName
    $info.TaskPath = [string]$task[0].TaskPath
    $info.LastRunTime = $task[0].LastRunTime
    $info.LastTaskResult = $task[0].LastTaskResult
    $info.NextRunTime = (Get-Date).AddHours(22)
    $info.NumberOfMissedRuns = [uint32]0
    return $info
}

function ConvertTo-FakeRegistryKey {
    # One spelling for HKLM:\X, Registry::HKEY_LOCAL_MACHINE\X and the provider-qualified PSPath.
    param([AllowNull()] [string] $Path)
    $text = [string]$Path
    foreach ($prefix in @('Microsoft.PowerShell.Core\Registry::', 'Registry::')) {
        if ($text.StartsWith($prefix, [System.StringComparison]::OrdinalIgnoreCase)) { $text = $text.Substring($prefix.Length) }
    }
    if ($text.StartsWith('HKLM:', [System.StringComparison]::OrdinalIgnoreCase)) { $text = 'HKEY_LOCAL_MACHINE' + $text.Substring(5) }
    if ($text.StartsWith('HKCU:', [System.StringComparison]::OrdinalIgnoreCase)) { $text = 'HKEY_CURRENT_USER' + $text.Substring(5) }
    return $text.TrimEnd('\')
}

function Test-FakeRegistryPathText {
    param([AllowNull()] [string] $Path)
    if (-not $Path) { return $false }
    foreach ($prefix in @('HKLM:', 'HKCU:', 'Registry::', 'Microsoft.PowerShell.Core\Registry::')) {
        if ($Path.StartsWith($prefix, [System.StringComparison]::OrdinalIgnoreCase)) { return $true }
    }
    return $false
}

function Add-FakeRegistryKey {
    # A key (and its parents) with optional values; child keys are listed in creation order.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Path, [hashtable] $Values = @{})
    $full = ConvertTo-FakeRegistryKey -Path $Path
    $lookup = $full.ToLowerInvariant()
    if (-not $Machine.Registry.ContainsKey($lookup)) {
        $Machine.Registry[$lookup] = [pscustomobject]@{ Name = $full; Children = (New-Object -TypeName System.Collections.ArrayList); Values = @{} }
        $cut = $full.LastIndexOf('\')
        if ($cut -gt 0) {
            $parent = $full.Substring(0, $cut)
            $null = Add-FakeRegistryKey -Machine $Machine -Path ('Registry::' + $parent)
            $null = $Machine.Registry[$parent.ToLowerInvariant()].Children.Add($full)
        }
    }
    foreach ($name in $Values.Keys) { $Machine.Registry[$lookup].Values[$name] = $Values[$name] }
    return ('Microsoft.PowerShell.Core\Registry::' + $full)
}

function Test-FakeRegistryKey {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Path)
    return $Machine.Registry.ContainsKey((ConvertTo-FakeRegistryKey -Path $Path).ToLowerInvariant())
}

function Get-FakeRegistryChild {
    # Shaped like Get-ChildItem on a registry key: PSPath, Name, PSChildName.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Path)
    $lookup = (ConvertTo-FakeRegistryKey -Path $Path).ToLowerInvariant()
    if (-not $Machine.Registry.ContainsKey($lookup)) { return }
    foreach ($child in @($Machine.Registry[$lookup].Children)) {
        [pscustomobject]@{
            PSPath      = 'Microsoft.PowerShell.Core\Registry::' + $child
            Name        = $child
            PSChildName = $child.Substring($child.LastIndexOf('\') + 1)
        }
    }
}

function Get-FakeRegistryValue {
    # Shaped like Get-ItemProperty: the key's values plus the PS* properties.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Path)
    $lookup = (ConvertTo-FakeRegistryKey -Path $Path).ToLowerInvariant()
    if (-not $Machine.Registry.ContainsKey($lookup)) { return }
    $key = $Machine.Registry[$lookup]
    $values = [ordered]@{}
    foreach ($name in $key.Values.Keys) { $values[$name] = $key.Values[$name] }
    $values['PSPath'] = 'Microsoft.PowerShell.Core\Registry::' + $key.Name
    $values['PSChildName'] = $key.Name.Substring($key.Name.LastIndexOf('\') + 1)
    return [pscustomobject]$values
}

function Get-FakeRegistryKeyItem {
    # Shaped like Get-Item on a registry key: a RegistryKey whose GetValue calls are recorded in
    # the machine's RegistryReads. Nothing for a key that does not exist (the real one fails).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Path)
    $lookup = (ConvertTo-FakeRegistryKey -Path $Path).ToLowerInvariant()
    if (-not $Machine.Registry.ContainsKey($lookup)) { throw ('Cannot find path ''{0}'' because it does not exist.' -f $Path) }
    $entry = $Machine.Registry[$lookup]
    $key = New-Object -TypeName FakeWindows.RegistryKey
    $key.Name = $entry.Name
    $key.PSPath = 'Microsoft.PowerShell.Core\Registry::' + $entry.Name
    $key.PSChildName = $entry.Name.Substring($entry.Name.LastIndexOf('\') + 1)
    $key.Reads = $Machine.RegistryReads
    foreach ($name in $entry.Values.Keys) { $key.Data[[string]$name] = $entry.Values[$name] }
    return $key
}

function ConvertTo-FakeFilePathKey {
    # One spelling of a file path for lookups: '/' for '\', lower case, no trailing separator.
    param([Parameter(Mandatory = $true)] [string] $Path)
    return $Path.Replace('\', '/').TrimEnd('/').ToLowerInvariant()
}

function New-FakeAccessRule {
    # One access rule: Allow or Deny, rights as a number (0x1301BF Modify, 0x1F01FF FullControl,
    # 0x1200A9 ReadAndExecute), propagation 2 for an inherit-only rule.
    param([Parameter(Mandatory = $true)] [string] $Sid, [int] $Rights = 0x1301BF, [ValidateSet('Allow', 'Deny')] [string] $Type = 'Allow', [int] $Propagation = 0)
    $rule = New-Object -TypeName FakeWindows.FileSystemAccessRule
    $rule.IdentityReference = New-Object -TypeName FakeWindows.SecurityIdentifier -ArgumentList $Sid
    $rule.FileSystemRights = $Rights
    $rule.AccessControlType = $Type
    $rule.PropagationFlags = $Propagation
    $rule.IsInherited = $true
    return $rule
}

function Set-FakeAcl {
    # The access rules Get-Acl reports for a file or folder of the fake PC (New-FakeAccessRule).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Path, [object[]] $Rule = @())
    $security = New-Object -TypeName FakeWindows.FileSecurity
    foreach ($item in $Rule) { $security.Rules.Add($item) }
    $Machine.Acls[(ConvertTo-FakeFilePathKey -Path $Path)] = $security
}

function Get-FakeAcl {
    # Get-Acl -LiteralPath: the rules Set-FakeAcl gave the path, else Windows' usual ones for
    # ProgramData (SYSTEM and Administrators full control, Users modify).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $Path)
    $key = ConvertTo-FakeFilePathKey -Path ([string]$Path)
    if ($Machine.AclErrors.ContainsKey($key)) { throw $Machine.AclErrors[$key] }
    if (-not (Test-Path -LiteralPath $Path)) { throw ('Cannot find path ''{0}'' because it does not exist.' -f $Path) }
    if ($Machine.Acls.ContainsKey($key)) { return $Machine.Acls[$key] }
    $security = New-Object -TypeName FakeWindows.FileSecurity
    $security.Rules.Add((New-FakeAccessRule -Sid 'S-1-5-18' -Rights 0x1F01FF))
    $security.Rules.Add((New-FakeAccessRule -Sid 'S-1-5-32-544' -Rights 0x1F01FF))
    $security.Rules.Add((New-FakeAccessRule -Sid 'S-1-5-32-545' -Rights 0x1301BF))
    return $security
}

function Add-FakeUninstallEntry {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $KeyName,
        [Parameter(Mandatory = $true)] [hashtable] $Values,
        [string] $Root = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    return Add-FakeRegistryKey -Machine $Machine -Path ($Root + '\' + $KeyName) -Values $Values
}

function Add-FakeService {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Name, [string] $Status = 'Running')
    $null = $Machine.Services.Add([pscustomobject]@{ Name = $Name; DisplayName = $Name; Status = $Status; StartType = 'Automatic' })
}

function Get-FakeService {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [object] $Name)
    $wanted = @($Name | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ })
    @($Machine.Services | Where-Object { $wanted.Count -eq 0 -or $wanted -contains $_.Name })
}

function Add-FakeAntivirus {
    # A Security Center AntiVirusProduct instance; productState as Windows reports it.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Name, [Parameter(Mandatory = $true)] [int] $ProductState)
    $null = $Machine.Antivirus.Add([pscustomobject]@{
            displayName              = $Name
            productState             = [uint32]$ProductState
            pathToSignedProductExe   = 'C:\Program Files\Example\av.exe'
            pathToSignedReportingExe = 'C:\Program Files\Example\av.exe'
            instanceGuid             = ('{' + [guid]::NewGuid().ToString() + '}')
            timestamp                = 'Wed, 01 May 2024 10:00:00 GMT'
        })
}

function Set-FakeDefender {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [string] $RunningMode = 'Normal', [bool] $TamperProtected = $false)
    $Machine.Defender = [pscustomobject]@{
        AMRunningMode             = $RunningMode
        AMServiceEnabled          = $true
        AntivirusEnabled          = $true
        RealTimeProtectionEnabled = ($RunningMode -eq 'Normal')
        IsTamperProtected         = $TamperProtected
        AntivirusSignatureAge     = [uint32]0
    }
}

function Get-FakeDefenderPreference {
    param([Parameter(Mandatory = $true)] [hashtable] $Machine)
    $paths = $null
    if ($Machine.Exclusions.Count -gt 0) { $paths = [string[]]@($Machine.Exclusions) }
    return [pscustomobject]@{ ExclusionPath = $paths; ExclusionProcess = $null; ExclusionExtension = $null; DisableRealtimeMonitoring = $false }
}

function Add-FakeEvent {
    param(
        [Parameter(Mandatory = $true)] [hashtable] $Machine,
        [Parameter(Mandatory = $true)] [string] $Provider,
        [Parameter(Mandatory = $true)] [string] $Message,
        [int] $Id = 1000,
        [int] $Level = 2,
        [string] $LogName = 'Application'
    )
    $null = $Machine.Events.Add([pscustomobject]@{
            LogName          = $LogName
            ProviderName     = $Provider
            Id               = $Id
            Level            = $Level
            LevelDisplayName = 'Error'
            TimeCreated      = (Get-Date).AddHours(-3)
            Message          = $Message
        })
}

function Select-FakeEvent {
    # Get-WinEvent -FilterHashtable: LogName, ProviderName, Id, Level and StartTime, newest first.
    # Like the real one, no match is an error whose FullyQualifiedErrorId starts with
    # NoMatchingEventsFound (the scripts ask for -ErrorAction Stop).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [hashtable] $FilterHashtable, [AllowNull()] [object] $MaxEvents)
    $query = @{}
    if ($null -ne $FilterHashtable) { $query = $FilterHashtable }
    $found = @($Machine.Events | Where-Object {
            $record = $_
            $keep = $true
            if ($query.ContainsKey('LogName') -and @($query['LogName']) -notcontains $record.LogName) { $keep = $false }
            if ($query.ContainsKey('ProviderName') -and @($query['ProviderName']) -notcontains $record.ProviderName) { $keep = $false }
            if ($query.ContainsKey('Id') -and @($query['Id']) -notcontains $record.Id) { $keep = $false }
            if ($query.ContainsKey('Level') -and @($query['Level']) -notcontains $record.Level) { $keep = $false }
            if ($query.ContainsKey('StartTime') -and $record.TimeCreated -lt [datetime]$query['StartTime']) { $keep = $false }
            $keep
        } | Sort-Object -Property TimeCreated -Descending)
    if ($null -ne $MaxEvents) { $found = @($found | Select-Object -First ([int]$MaxEvents)) }
    if ($found.Count -eq 0) {
        $problem = New-Object -TypeName System.Exception -ArgumentList 'No events were found that match the specified selection criteria.'
        throw (New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $problem, 'NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand', ([System.Management.Automation.ErrorCategory]::ObjectNotFound), $null)
    }
    $found
}

function Get-FakeMachineOrNull {
    # The current fake machine, or $null between tests (strict mode forbids reading a missing variable).
    $variable = Get-Variable -Name 'FakeMachine' -Scope Global -ErrorAction SilentlyContinue
    if ($null -eq $variable) { return $null }
    return $variable.Value
}

function Set-FakeMachineMock {
    # Every Windows cmdlet the scripts call, answered from $global:FakeMachine. State-changing
    # cmdlets are mocked too, so a test can never change the PC it runs on.
    Register-FakeCommandStub
    Register-FakeNativeGuard
    Mock -CommandName shutdown.exe -MockWith { }

    Mock -CommandName Start-Sleep -MockWith {
        if ($null -eq (Get-FakeMachineOrNull)) { return }
        $milliseconds = 0
        if ($PesterBoundParameters.ContainsKey('Milliseconds')) { $milliseconds = [int]$PesterBoundParameters['Milliseconds'] }
        if ($PesterBoundParameters.ContainsKey('Seconds')) { $milliseconds = 1000 * [int]$PesterBoundParameters['Seconds'] }
        $global:FakeMachine.Clock = $global:FakeMachine.Clock.AddMilliseconds($milliseconds)
    }
    Mock -CommandName Get-Date -ParameterFilter { $PesterBoundParameters.Count -eq 0 } -MockWith {
        $current = Get-FakeMachineOrNull
        if ($null -eq $current) { return [datetime]::Now }
        return $current.Clock
    }

    Mock -CommandName Get-ScheduledTask -MockWith {
        Get-FakeScheduledTask -Machine $global:FakeMachine -TaskPath $PesterBoundParameters['TaskPath'] -TaskName $PesterBoundParameters['TaskName']
    }
    Mock -CommandName Get-ScheduledTaskInfo -RemoveParameterType 'InputObject' -MockWith {
        Get-FakeTaskInfo -Machine $global:FakeMachine -InputObject $PesterBoundParameters['InputObject'] -TaskName $PesterBoundParameters['TaskName']
    }
    Mock -CommandName Start-ScheduledTask -RemoveParameterType 'InputObject' -MockWith {
        Start-FakeTask -Machine $global:FakeMachine -InputObject $PesterBoundParameters['InputObject'] -TaskName $PesterBoundParameters['TaskName'] -TaskPath $PesterBoundParameters['TaskPath']
    }
    Mock -CommandName Stop-ScheduledTask -RemoveParameterType 'InputObject' -MockWith { }
    Mock -CommandName Export-ScheduledTask -RemoveParameterType 'InputObject' -MockWith {
        '<?xml version="1.0" encoding="UTF-16"?><Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Actions Context="Author"><Exec><Command>QuickbooksDesktop.exe</Command></Exec></Actions></Task>'
    }
    Mock -CommandName New-ScheduledTaskAction -MockWith {
        New-FakeTaskAction -Execute ([string]$PesterBoundParameters['Execute']) -Argument ([string]$PesterBoundParameters['Argument'])
    }
    Mock -CommandName New-ScheduledTaskPrincipal -MockWith {
        New-FakeTaskPrincipal -UserId ([string]$PesterBoundParameters['UserId']) -LogonType ([string]$PesterBoundParameters['LogonType']) -RunLevel ([string]$PesterBoundParameters['RunLevel'])
    }
    Mock -CommandName New-ScheduledTaskTrigger -MockWith {
        New-FakeTaskTrigger -At $PesterBoundParameters['At'] -Once:([bool]$PesterBoundParameters['Once'])
    }
    Mock -CommandName New-ScheduledTaskSettingsSet -MockWith { [pscustomobject]@{ Enabled = $true } }
    Mock -CommandName Register-ScheduledTask -RemoveParameterType 'Action', 'Principal', 'Settings', 'Trigger', 'InputObject' -MockWith {
        # A new task has never run; started, it plays back the machine's OneShotOutcome.
        Register-FakeTask -Machine $global:FakeMachine -Parameters $PesterBoundParameters
    }
    Mock -CommandName Unregister-ScheduledTask -RemoveParameterType 'InputObject' -MockWith {
        $gone = @($global:FakeMachine.Tasks | Where-Object { $_.TaskName -eq [string]$PesterBoundParameters['TaskName'] })
        foreach ($task in $gone) { $global:FakeMachine.Tasks.Remove($task) }
    }

    Mock -CommandName Get-Process -MockWith {
        Get-FakeProcess -Machine $global:FakeMachine -Name $PesterBoundParameters['Name'] -Id $PesterBoundParameters['Id']
    }
    Mock -CommandName Stop-Process -RemoveParameterType 'InputObject' -MockWith {
        Stop-FakeProcess -Machine $global:FakeMachine -Id $PesterBoundParameters['Id']
    }
    Mock -CommandName Start-Process -MockWith { }
    Mock -CommandName Invoke-WebRequest -MockWith { throw 'Invoke-WebRequest is not expected in these tests.' }
    Mock -CommandName Get-Service -MockWith {
        Get-FakeService -Machine $global:FakeMachine -Name $PesterBoundParameters['Name']
    }

    Mock -CommandName Get-CimInstance -MockWith { }
    Mock -CommandName Get-CimInstance -ParameterFilter { [string]$PesterBoundParameters['ClassName'] -eq 'Win32_Process' } -MockWith {
        Select-FakeCimProcess -Machine $global:FakeMachine -Filter ([string]$PesterBoundParameters['Filter'])
    }
    Mock -CommandName Get-CimInstance -ParameterFilter { [string]$PesterBoundParameters['ClassName'] -eq 'Win32_UserProfile' } -MockWith {
        @($global:FakeMachine.Profiles)
    }
    Mock -CommandName Get-CimInstance -ParameterFilter { [string]$PesterBoundParameters['ClassName'] -eq 'Win32_OperatingSystem' } -MockWith {
        [pscustomobject]@{
            Caption        = 'Microsoft Windows 11 Pro'
            Version        = '10.0.22631'
            BuildNumber    = '22631'
            OSArchitecture = '64-bit'
            ProductType    = [uint32]1
            LastBootUpTime = (Get-Date).AddDays(-2)
        }
    }
    Mock -CommandName Get-CimInstance -ParameterFilter { [string]$PesterBoundParameters['ClassName'] -eq 'AntiVirusProduct' } -MockWith {
        if (-not $global:FakeMachine.SecurityCenter) { throw 'Invalid namespace' }
        @($global:FakeMachine.Antivirus)
    }
    Mock -CommandName Invoke-CimMethod -RemoveParameterType 'InputObject' -MockWith {
        Get-FakeProcessOwner -InputObject $PesterBoundParameters['InputObject'] -MethodName ([string]$PesterBoundParameters['MethodName']) -Machine $global:FakeMachine
    }
    Mock -CommandName Get-LocalGroupMember -MockWith {
        Get-FakeLocalGroupMember -Machine $global:FakeMachine -Sid $PesterBoundParameters['SID']
    }

    Mock -CommandName Get-MpComputerStatus -MockWith {
        if ($null -eq $global:FakeMachine.Defender) { throw 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.' }
        $global:FakeMachine.Defender
    }
    Mock -CommandName Get-MpPreference -MockWith { Get-FakeDefenderPreference -Machine $global:FakeMachine }
    Mock -CommandName Add-MpPreference -MockWith {
        foreach ($exclusion in @($PesterBoundParameters['ExclusionPath'])) { $null = $global:FakeMachine.Exclusions.Add([string]$exclusion) }
    }
    Mock -CommandName Get-MpThreatDetection -MockWith {
        if ($null -ne $global:FakeMachine.DetectionError) { throw $global:FakeMachine.DetectionError }
        @($global:FakeMachine.Detections)
    }
    Mock -CommandName Get-WinEvent -MockWith {
        Select-FakeEvent -Machine $global:FakeMachine -FilterHashtable $PesterBoundParameters['FilterHashtable'] -MaxEvents $PesterBoundParameters['MaxEvents']
    }

    Mock -CommandName Get-ChildItem -ParameterFilter { Test-FakeRegistryPathText -Path ([string]$PesterBoundParameters['LiteralPath']) } -MockWith {
        Get-FakeRegistryChild -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
    Mock -CommandName Get-ItemProperty -ParameterFilter { Test-FakeRegistryPathText -Path ([string]$PesterBoundParameters['LiteralPath']) } -MockWith {
        Get-FakeRegistryValue -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
    Mock -CommandName Test-Path -ParameterFilter { Test-FakeRegistryPathText -Path ([string]$PesterBoundParameters['LiteralPath']) } -MockWith {
        Test-FakeRegistryKey -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
    Mock -CommandName Get-Item -ParameterFilter { Test-FakeRegistryPathText -Path ([string]$PesterBoundParameters['LiteralPath']) } -MockWith {
        Get-FakeRegistryKeyItem -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
    Mock -CommandName Get-Acl -MockWith {
        Get-FakeAcl -Machine $global:FakeMachine -Path ([string]$PesterBoundParameters['LiteralPath'])
    }
}

function Invoke-RenderedScript {
    # Run a rendered script as a file (so it reports an exit code) and read its JSON result,
    # the last line it writes. Information records (Write-QbdStep's progress) are taken from the
    # output in the order they came: Steps holds the texts of those tagged qbd-step, and Stdout
    # what powershell.exe -File prints, each record's text and each output line in turn.
    param([Parameter(Mandatory = $true)] [string] $ScriptPath, [hashtable] $ScriptParameters = @{})
    $global:LASTEXITCODE = 0
    $written = @(& $ScriptPath @ScriptParameters 6>&1)
    $scriptExitCode = $global:LASTEXITCODE
    $scriptOutput = New-Object -TypeName System.Collections.ArrayList
    $stdout = New-Object -TypeName System.Collections.ArrayList
    $steps = New-Object -TypeName System.Collections.ArrayList
    foreach ($item in $written) {
        if ($item -is [System.Management.Automation.InformationRecord]) {
            $text = [string]$item.MessageData
            $null = $stdout.Add($text)
            if (@($item.Tags) -contains 'qbd-step' -and $text.StartsWith('qbd-step: ')) {
                $null = $steps.Add($text.Substring('qbd-step: '.Length))
            }
            continue
        }
        $null = $scriptOutput.Add($item)
        $null = $stdout.Add([string]$item)
    }
    $scriptOutput = @($scriptOutput)
    $resultLine = $null
    for ($index = $scriptOutput.Count - 1; $index -ge 0; $index--) {
        $candidate = [string]$scriptOutput[$index]
        if ($candidate.StartsWith('{')) {
            $resultLine = $candidate
            break
        }
    }
    if ($null -eq $resultLine) {
        throw ('No JSON result in the output of {0}: {1}' -f $ScriptPath, ($scriptOutput -join [Environment]::NewLine))
    }
    return [pscustomobject]@{
        Result   = ConvertFrom-Json -InputObject $resultLine
        Json     = $resultLine
        ExitCode = $scriptExitCode
        Output   = $scriptOutput
        Stdout   = @($stdout)
        Steps    = @($steps)
    }
}

function Get-ResultCheck {
    param([Parameter(Mandatory = $true)] [object] $Result, [Parameter(Mandatory = $true)] [string] $Name)
    return @(@($Result.checks) | Where-Object { $_.name -eq $Name })
}

function Get-ResultAction {
    # Actions whose description contains the text (compared as text, not as a pattern).
    param([Parameter(Mandatory = $true)] [object] $Result, [Parameter(Mandatory = $true)] [string] $Text)
    return @(@($Result.actions) | Where-Object { ([string]$_.description).IndexOf($Text, [System.StringComparison]::OrdinalIgnoreCase) -ge 0 })
}

function Get-ResultMessage {
    param([Parameter(Mandatory = $true)] [object] $Result, [Parameter(Mandatory = $true)] [string] $Text)
    return @(@($Result.messages) | Where-Object { ([string]$_).IndexOf($Text, [System.StringComparison]::OrdinalIgnoreCase) -ge 0 })
}

function Get-FakeTree {
    # Every file under a folder with its size and time: "changed nothing" is this list unchanged.
    param([Parameter(Mandatory = $true)] [string] $Root)
    @(Get-ChildItem -LiteralPath $Root -File -Recurse -Force | ForEach-Object {
            '{0}|{1}|{2}' -f $_.FullName.Substring($Root.Length), $_.Length, $_.LastWriteTimeUtc.Ticks
        } | Sort-Object)
}
