# Fakes for the scripts that run installers (reinstall-connector, reset-certificate), on top of
# Helpers.ps1's fake machine: Authenticode signatures, who is a local administrator, the owner
# SIDs of logged-on users, and one-shot tasks (Start-QbdInUserSession, Start-QbdAsSystem) that
# end the way a test says. Dot-source after Helpers.ps1; call Set-InstallerFakeMock after
# Set-FakeMachineMock. Names never contain 'Qbd' (a script function would shadow them).

function Register-InstallerCommandStub {
    # Windows has these; elsewhere a stand-in with the 5.1 parameters lets Pester mock them.
    if ($null -eq (Get-Command -Name 'Get-AuthenticodeSignature' -ErrorAction SilentlyContinue)) {
        $body = '[CmdletBinding()] param([object] $FilePath, [object] $LiteralPath, [object] $Content, [object] $SourcePathOrExtension) throw ''Get-AuthenticodeSignature is not faked.'''
        $null = New-Item -Path 'Function:\global:Get-AuthenticodeSignature' -Value ([scriptblock]::Create($body)) -Force
    }
    if ($null -eq (Get-Command -Name 'Get-Acl' -ErrorAction SilentlyContinue)) {
        $body = '[CmdletBinding()] param([object] $Path, [object] $LiteralPath, [object] $InputObject, [object] $Filter, [object] $Include, [object] $Exclude, [switch] $Audit, [switch] $AllCentralAccessPolicies, [object] $UseTransaction) throw ''Get-Acl is not faked.'''
        $null = New-Item -Path 'Function:\global:Get-Acl' -Value ([scriptblock]::Create($body)) -Force
    }
    if ($null -eq (Get-Command -Name 'Set-Acl' -ErrorAction SilentlyContinue)) {
        $body = '[CmdletBinding(SupportsShouldProcess = $true)] param([object] $Path, [object] $LiteralPath, [object] $InputObject, [object] $AclObject, [object] $Filter, [object] $Include, [object] $Exclude, [object] $CentralAccessPolicy, [switch] $ClearCentralAccessPolicy, [switch] $Passthru, [object] $UseTransaction) throw ''Set-Acl is not faked.'''
        $null = New-Item -Path 'Function:\global:Set-Acl' -Value ([scriptblock]::Create($body)) -Force
    }
    if ($null -eq (Get-Command -Name 'Get-LocalGroupMember' -ErrorAction SilentlyContinue)) {
        $body = '[CmdletBinding()] param([object] $Group, [object] $Name, [object] $SID, [object] $Member) throw ''Get-LocalGroupMember is not faked.'''
        $null = New-Item -Path 'Function:\global:Get-LocalGroupMember' -Value ([scriptblock]::Create($body)) -Force
    }
}

function New-TestSignature {
    # Shaped like Get-AuthenticodeSignature's result: a status and the signer certificate.
    param([string] $Status = 'Valid', [string] $Subject = 'CN=Codat Limited, O=Codat Limited, L=London, C=GB')
    $certificate = $null
    if ($Subject) { $certificate = [pscustomobject]@{ Subject = $Subject; Thumbprint = '3E1F0A0B0C0D0E0F101112131415161718191A1B' } }
    return [pscustomobject]@{ Status = $Status; StatusMessage = $Status; SignerCertificate = $certificate; Path = '' }
}

function Set-TestAdministrator {
    # The accounts ('PC\alice') the fake PC lists in its local Administrators group.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [string[]] $Account = @())
    $Machine['Admins'] = @($Account)
}

function Set-TestOneShotResult {
    # How the next one-shot tasks end: a LastTaskResult (0 ran, 0x800702E4 needs elevation, ...).
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [uint32] $Result)
    $Machine['OneShotResult'] = $Result
}

function Get-TestProfileSid {
    # The SID of the fake profile whose folder is the user's name.
    param([Parameter(Mandatory = $true)] [hashtable] $Machine, [AllowNull()] [string] $UserName)
    foreach ($userProfile in @($Machine.Profiles)) {
        if ((Split-Path -Path ([string]$userProfile.LocalPath) -Leaf) -eq $UserName) { return [string]$userProfile.SID }
    }
    return $null
}

function New-TestSecurityObject {
    # Stand-ins for the .NET access-control types, which exist only on Windows: a folder's
    # security that records its rules, an identity, a rule.
    param([Parameter(Mandatory = $true)] [string] $TypeName, [AllowNull()] [object[]] $ArgumentList)
    $arguments = @($ArgumentList | Where-Object { $null -ne $_ })
    if ($TypeName.EndsWith('.DirectorySecurity')) {
        $security = [pscustomobject]@{ Protected = $false; Rules = [System.Collections.ArrayList]::new() }
        $security | Add-Member -MemberType ScriptMethod -Name SetAccessRuleProtection -Value { param($IsProtected, $Preserve) $this.Protected = [bool]$IsProtected }
        $security | Add-Member -MemberType ScriptMethod -Name AddAccessRule -Value { param($Rule) $null = $this.Rules.Add($Rule) }
        return $security
    }
    if ($TypeName.EndsWith('.SecurityIdentifier')) { return [pscustomobject]@{ Value = [string]$arguments[0] } }
    return [pscustomobject]@{ IdentityReference = $arguments[0]; FileSystemRights = [string]$arguments[1]; AccessControlType = [string]@($arguments)[-1] }
}

function Get-TestAclSummary {
    # What a recorded Set-Acl would have applied: whether inheritance is cut, and which SIDs
    # are allowed (a real DirectorySecurity on Windows, the stand-in elsewhere).
    param([Parameter(Mandatory = $true)] [object] $Acl)
    if ($null -ne $Acl.PSObject.Properties['Rules']) {
        return [pscustomobject]@{ Protected = [bool]$Acl.Protected; Sids = @($Acl.Rules | ForEach-Object { [string]$_.IdentityReference.Value }) }
    }
    $rules = @($Acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]))
    return [pscustomobject]@{ Protected = [bool]$Acl.AreAccessRulesProtected; Sids = @($rules | ForEach-Object { [string]$_.IdentityReference.Value }) }
}

function Set-InstallerFakeMock {
    Register-InstallerCommandStub
    Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature }
    # The owner of qbd-fix's data folder: Administrators unless a test says otherwise.
    Mock -CommandName Get-Acl -MockWith {
        $owner = 'S-1-5-32-544'
        if ($global:FakeMachine.ContainsKey('DataFolderOwner')) { $owner = [string]$global:FakeMachine['DataFolderOwner'] }
        $acl = [pscustomobject]@{ OwnerSid = $owner }
        $acl | Add-Member -MemberType ScriptMethod -Name GetOwner -Value { param($Type) [pscustomobject]@{ Value = $this.OwnerSid } }
        $acl
    }
    # Access rules are recorded, never applied: a test folder stays the test's own.
    Mock -CommandName Set-Acl -MockWith {
        if (-not $global:FakeMachine.ContainsKey('Acls')) { $global:FakeMachine['Acls'] = @{} }
        $global:FakeMachine['Acls'][[string]$PesterBoundParameters['LiteralPath']] = $PesterBoundParameters['AclObject']
    }
    if (-not (Test-FakeHostIsWindows)) {
        Mock -CommandName New-Object -ParameterFilter { ([string]$PesterBoundParameters['TypeName']).StartsWith('System.Security.', [System.StringComparison]::OrdinalIgnoreCase) } -MockWith {
            New-TestSecurityObject -TypeName ([string]$PesterBoundParameters['TypeName']) -ArgumentList $PesterBoundParameters['ArgumentList']
        }
    }

    Mock -CommandName Invoke-CimMethod -RemoveParameterType 'InputObject' -ParameterFilter { [string]$PesterBoundParameters['MethodName'] -eq 'GetOwnerSid' } -MockWith {
        $process = @($PesterBoundParameters['InputObject'])[0]
        $sid = $null
        if ($null -ne $process -and $null -ne $process.PSObject.Properties['OwnerUser']) {
            $sid = Get-TestProfileSid -Machine $global:FakeMachine -UserName ([string]$process.OwnerUser)
        }
        [pscustomobject]@{ Sid = $sid; ReturnValue = [uint32]0 }
    }
    Mock -CommandName Get-LocalGroupMember -MockWith {
        foreach ($account in @($global:FakeMachine['Admins'])) {
            if (-not $account) { continue }
            $sid = Get-TestProfileSid -Machine $global:FakeMachine -UserName (([string]$account -split '\\')[-1])
            [pscustomobject]@{ Name = $account; SID = $sid; ObjectClass = 'User'; PrincipalSource = 'Local' }
        }
    }

    # One-shot tasks: registered into the machine's task table, ended by OneShotResult when
    # started (0 unless a test says otherwise), removed when unregistered.
    Mock -CommandName Register-ScheduledTask -RemoveParameterType 'Action', 'Principal', 'Settings', 'Trigger', 'InputObject' -MockWith {
        $task = [pscustomobject]@{ TaskName = [string]$PesterBoundParameters['TaskName']; TaskPath = '\'; State = 'Ready'; LastTaskResult = [uint32]267011; Description = ''; Author = '' }
        $null = $global:FakeMachine.Tasks.Add($task)
        $task
    }
    Mock -CommandName Start-ScheduledTask -RemoveParameterType 'InputObject' -ParameterFilter { ([string]$PesterBoundParameters['TaskName']).StartsWith('qbd-fix-') } -MockWith {
        $result = [uint32]0
        if ($global:FakeMachine.ContainsKey('OneShotResult')) { $result = [uint32]$global:FakeMachine['OneShotResult'] }
        foreach ($task in @($global:FakeMachine.Tasks | Where-Object { $_.TaskName -eq [string]$PesterBoundParameters['TaskName'] })) {
            $task.LastTaskResult = $result
            $task.State = 'Ready'
        }
    }
    Mock -CommandName Get-ScheduledTaskInfo -RemoveParameterType 'InputObject' -ParameterFilter { $null -ne $PesterBoundParameters['InputObject'] -and ([string]@($PesterBoundParameters['InputObject'])[0].TaskName).StartsWith('qbd-fix-') } -MockWith {
        $task = @($PesterBoundParameters['InputObject'])[0]
        [pscustomobject]@{ TaskName = $task.TaskName; TaskPath = '\'; LastRunTime = (Get-Date); LastTaskResult = $task.LastTaskResult; NextRunTime = $null; NumberOfMissedRuns = [uint32]0 }
    }
    Mock -CommandName Unregister-ScheduledTask -RemoveParameterType 'InputObject' -MockWith {
        $gone = @($global:FakeMachine.Tasks | Where-Object { $_.TaskName -eq [string]$PesterBoundParameters['TaskName'] })
        foreach ($task in $gone) { $global:FakeMachine.Tasks.Remove($task) }
    }
}
