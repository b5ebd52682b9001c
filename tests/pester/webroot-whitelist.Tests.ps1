# webroot-whitelist on a fake PC: Webroot guidance per folder, Defender exclusions only where they help.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFilesFakes.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'InstallerFakes.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/webroot-whitelist.ps1'
    Set-FakeMachineMock
    # Every program validly signed by Codat unless a test says otherwise.
    Register-InstallerCommandStub
    Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature }
}

Describe 'webroot-whitelist' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        $bob = Add-FakeUser -Machine $machine -UserName 'bob'
        $aliceFolder = Add-FakePerUserConnector -Machine $machine -User $alice
    }

    AfterEach {
        Restore-FakeMachine
    }

    Context 'Webroot SecureAnywhere is installed and active' {
        BeforeEach {
            $bobFolder = Add-FakePerUserConnector -Machine $machine -User $bob
            Add-FakeService -Machine $machine -Name 'WRSVC'
            $null = Write-FakeProgram -Path (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Webroot\WRSA.exe')
            $null = Add-FakeProcess -Machine $machine -Name 'WRSA.exe' -ExecutablePath (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Webroot\WRSA.exe') -Domain 'NT AUTHORITY' -User 'SYSTEM'
            $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\WOW6432Node\WRData' -Values @{ InstallDir = 'C:\Program Files (x86)\Webroot' }
            # productState 0x041000: enabled, signatures up to date; Defender 0x060100: off.
            Add-FakeAntivirus -Machine $machine -Name 'Webroot SecureAnywhere' -ProductState 266240
            Add-FakeAntivirus -Machine $machine -Name 'Windows Defender' -ProductState 393472
            Set-FakeDefender -Machine $machine -RunningMode 'Passive Mode'
        }

        It 'asks for a person and lists one override per user folder' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            (Get-ResultCheck -Result $run.Result -Name 'webroot-detected')[0].passed | Should -BeTrue
            $run.Result.data.webroot.present | Should -BeTrue
            $run.Result.data.webroot.active | Should -BeTrue
            $overrides = @($run.Result.data.overrides)
            $overrides | Should -HaveCount 2
            (@($overrides | ForEach-Object { $_.user } | Sort-Object) -join '|') | Should -Be 'alice|bob'
            (@($overrides | ForEach-Object { $_.path } | Sort-Object) -join '|') | Should -Be ((@($aliceFolder, $bobFolder) | Sort-Object) -join '|')
            (Get-ResultMessage -Result $run.Result -Text ('Path/Folder Mask ''{0}\''' -f $aliceFolder)) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('Path/Folder Mask ''{0}\''' -f $bobFolder)) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Advanced Whitelist') | Should -Not -BeNullOrEmpty
            (Get-ResultMessage -Result $run.Result -Text 'restored from quarantine') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly
        }

        It 'adds no Defender exclusion while Webroot is the active antivirus' {
            Set-FakeDefender -Machine $machine -RunningMode 'Normal'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'defender-active')[0].passed | Should -BeFalse
            $run.Result.data.defender_exclusions.skipped | Should -BeLike '*Another antivirus is active (Webroot SecureAnywhere)*'
            (Get-ResultMessage -Result $run.Result -Text 'No Defender exclusion added') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly
            $machine.Exclusions.Count | Should -Be 0
        }
    }

    Context 'Microsoft Defender is the active antivirus and Webroot is absent' {
        BeforeEach {
            # productState 0x061100: Defender enabled, signatures up to date.
            Add-FakeAntivirus -Machine $machine -Name 'Windows Defender' -ProductState 397568
            Set-FakeDefender -Machine $machine -RunningMode 'Normal'
        }

        It 'says Webroot does not apply and changes nothing without -DefenderExclusion' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $run.ExitCode | Should -Be 0
            (Get-ResultCheck -Result $run.Result -Name 'webroot-detected')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'Webroot SecureAnywhere is not installed') | Should -HaveCount 1
            Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly
        }

        It 'adds the exclusion once, states the risk, and is a no-op the second time' {
            $first = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true }

            $first.Result.status | Should -Be 'changed' -Because $first.Json
            $first.ExitCode | Should -Be 0
            (Get-ResultCheck -Result $first.Result -Name 'defender-active')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $first.Result -Name 'defender-exclusions')[0].passed | Should -BeTrue
            (Get-ResultMessage -Result $first.Result -Text 'Microsoft advises against excluding user-writable folders') | Should -HaveCount 1
            (Get-ResultAction -Result $first.Result -Text $aliceFolder)[0].performed | Should -BeTrue
            (@($first.Result.data.defender_exclusions.added) -join '|') | Should -Be $aliceFolder
            Should -Invoke -CommandName Add-MpPreference -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['ExclusionPath']) -contains $aliceFolder }

            $second = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true }

            $second.Result.status | Should -Be 'ok' -Because $second.Json
            (@($second.Result.data.defender_exclusions.already) -join '|') | Should -Be $aliceFolder
            @($second.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Add-MpPreference -Times 1 -Exactly
            (@($machine.Exclusions) -join '|') | Should -Be $aliceFolder
        }

        It 'only lists the exclusion under -WhatIf' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true; WhatIf = $true }

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            (Get-ResultAction -Result $run.Result -Text $aliceFolder)[0].performed | Should -BeFalse
            Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly
        }
    }
    Context 'Defender exclusions for the folders the troubleshooting page names' {
        BeforeEach {
            Add-FakeAntivirus -Machine $machine -Name 'Windows Defender' -ProductState 397568
            Set-FakeDefender -Machine $machine -RunningMode 'Normal'
            $legacyFolder = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
            $webConnectorFolder = Add-FakeWebConnector -Machine $machine
        }

        It 'excludes the Web Connector''s install folder but never the auto-run tool''s folder or a program file' {
            $autoRun = Add-FakeAutoRunTool -Machine $machine
            $autoRunFolder = Split-Path -Path $autoRun -Parent

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true }

            $run.Result.data.PSObject.Properties['error'] | Should -BeNullOrEmpty -Because $run.Json
            @($run.Result.data.overrides | Where-Object { $_.path -eq $webConnectorFolder }) | Should -HaveCount 1
            @($run.Result.data.overrides | Where-Object { $_.path -eq $autoRunFolder -and $_.kind -eq 'folder' }) | Should -HaveCount 1
            Should -Invoke -CommandName Add-MpPreference -Times 1 -Exactly -ParameterFilter { @($PesterBoundParameters['ExclusionPath']) -contains $webConnectorFolder }
            @($run.Result.data.defender_exclusions.added) | Should -Contain $webConnectorFolder
            @($machine.Exclusions) | Should -Contain $webConnectorFolder
            (Get-ResultMessage -Result $run.Result -Text ('{0} is not a Codat connector folder the troubleshooting page names' -f $autoRunFolder)) | Should -HaveCount 1
            @($machine.Exclusions) | Should -Not -Contain $autoRunFolder
            @($machine.Exclusions) | Should -Not -Contain $autoRun
            Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly -ParameterFilter { @($PesterBoundParameters['ExclusionPath']) -contains $autoRunFolder }
        }

        It 'excludes each user''s AppData\Local\Codat, the legacy QuickBooks-connector folder and the Web Connector''s folder, and only those' {

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true }

            $run.Result.status | Should -Be 'changed' -Because $run.Json
            (@($run.Result.data.defender_exclusions.added) | Sort-Object) -join '|' | Should -Be ((@($aliceFolder, $legacyFolder, $webConnectorFolder) | Sort-Object) -join '|')
            Should -Invoke -CommandName Add-MpPreference -Times 3 -Exactly
            (@($machine.Exclusions) | Sort-Object) -join '|' | Should -Be ((@($aliceFolder, $legacyFolder, $webConnectorFolder) | Sort-Object) -join '|')
            (Get-ResultCheck -Result $run.Result -Name 'defender-exclusions')[0].passed | Should -BeTrue
        }

        It 'lists the Web Connector folder''s exclusion under -WhatIf and adds none' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true; WhatIf = $true }

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $action = @(Get-ResultAction -Result $run.Result -Text $webConnectorFolder)
            $action | Should -HaveCount 1
            $action[0].performed | Should -BeFalse
            Should -Invoke -CommandName Add-MpPreference -Times 0 -Exactly
            $machine.Exclusions.Count | Should -Be 0
        }

        It 'records an exclusion that Add-MpPreference refuses as not performed, and fails' {
            Mock -CommandName Add-MpPreference -MockWith { throw 'Operation failed with the following error: 0x800106ba' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ DefenderExclusion = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.ExitCode | Should -Be 1
            foreach ($folder in @($aliceFolder, $legacyFolder, $webConnectorFolder)) {
                $action = @(Get-ResultAction -Result $run.Result -Text $folder)
                $action | Should -HaveCount 1
                $action[0].performed | Should -BeFalse
                (Get-ResultMessage -Result $run.Result -Text ('Add-MpPreference failed for {0}: Operation failed' -f $folder)) | Should -HaveCount 1
            }
            @($run.Result.data.defender_exclusions.added) | Should -HaveCount 0
            (Get-ResultCheck -Result $run.Result -Name 'defender-exclusions')[0].passed | Should -BeFalse
            $machine.Exclusions.Count | Should -Be 0
        }
    }

    Context 'the Web Connector generation with Webroot active' {
        BeforeEach {
            Add-FakeService -Machine $machine -Name 'WRSVC'
            $null = Write-FakeProgram -Path (Join-Path -Path $machine.ProgramFiles86 -ChildPath 'Webroot\WRSA.exe')
            Add-FakeAntivirus -Machine $machine -Name 'Webroot SecureAnywhere' -ProductState 266240
            $webConnectorFolder = Add-FakeWebConnector -Machine $machine
            $qbwc = Join-Path -Path $webConnectorFolder -ChildPath 'QBWebConnector.exe'
        }

        It 'lists QBWebConnector.exe by file and says no auto-run tool or start-up entry was found' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'web-connector-program')[0].passed | Should -BeTrue
            @($run.Result.data.web_connector.web_connector | ForEach-Object { $_.path }) | Should -Be @($qbwc)
            @($run.Result.data.web_connector.auto_run) | Should -HaveCount 0
            @($run.Result.data.overrides | Where-Object { $_.path -eq $webConnectorFolder -and $_.kind -eq 'folder' }) | Should -HaveCount 1
            @($run.Result.data.overrides | Where-Object { $_.path -eq $qbwc -and $_.kind -eq 'file' }) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('Path/Folder Mask ''{0}\''; File Mask ''QBWebConnector.exe''' -f $webConnectorFolder)) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Block/Allow Files') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Codat''s auto-run tool was not found. Looked in:') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'No start-up entry') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
        }

        It 'adds the auto-run tool''s folder and file from Program Files (x86)\Codat and the start-up entry that starts it' {
            $autoRun = Add-FakeAutoRunTool -Machine $machine
            $autoRunFolder = Split-Path -Path $autoRun -Parent
            $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run' -Values @{ 'Codat QuickBooks' = ('"{0}"' -f $autoRun) }

            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $found = @($run.Result.data.web_connector.auto_run)
            $found | Should -HaveCount 1
            $found[0].path | Should -Be $autoRun
            $found[0].exists | Should -BeTrue
            @($run.Result.data.web_connector.startup) | Should -HaveCount 1
            $run.Result.data.web_connector.startup[0].target | Should -Be $autoRun
            @($run.Result.data.overrides | Where-Object { $_.path -eq $autoRunFolder -and $_.kind -eq 'folder' }) | Should -HaveCount 1
            @($run.Result.data.overrides | Where-Object { $_.path -eq $autoRun -and $_.kind -eq 'file' }) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('Path/Folder Mask ''{0}\''; File Mask empty' -f $autoRunFolder)) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('File Mask ''{0}''' -f (Split-Path -Path $autoRun -Leaf))) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Start-up entries naming the Web Connector or Codat: run-key ''Codat QuickBooks''') | Should -HaveCount 1
        }

        It 'finds the auto-run tool in each user''s AppData\Local\Programs and never allow-lists a Windows program a task starts' {
            $bobProfile = Join-Path -Path $machine.Users -ChildPath 'bob'
            $aliceTool = Add-FakeAutoRunTool -Machine $machine -Folder (Join-Path -Path $alice.Profile -ChildPath 'AppData\Local\Programs\Codat Connector')
            $bobTool = Add-FakeAutoRunTool -Machine $machine -Folder (Join-Path -Path $bobProfile -ChildPath 'AppData\Local\Programs\Codat Connector')
            $null = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'AppData\Local\Programs\Other Tool\other.exe')
            $shell = Join-Path -Path $env:WINDIR -ChildPath 'System32\cmd.exe'
            if (-not (Test-FakeHostIsWindows)) { $null = Write-FakeProgram -Path $shell }
            $task = Add-FakeTask -Machine $machine -Name 'Codat start' -Execute $shell -UserId $alice.Sid
            $task.Actions[0].Arguments = '/c start "" "C:\Program Files (x86)\Codat\start.cmd"'

            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $found = @($run.Result.data.web_connector.auto_run)
            (@($found | ForEach-Object { $_.path }) | Sort-Object) -join '|' | Should -Be ((@($aliceTool, $bobTool, $shell) | Sort-Object) -join '|')
            (@($found | Where-Object { $_.path -eq $aliceTool })[0]).user | Should -Be 'alice'
            $overrides = @($run.Result.data.overrides)
            # Signed, but in the user's own profile: the file only, never its folder.
            @($overrides | Where-Object { $_.path -eq (Split-Path -Path $aliceTool -Parent) }) | Should -HaveCount 0
            @($overrides | Where-Object { $_.path -eq (Split-Path -Path $bobTool -Parent) }) | Should -HaveCount 0
            @($overrides | Where-Object { $_.path -eq $aliceTool -and $_.kind -eq 'file' -and $_.user -eq 'alice' }) | Should -HaveCount 1
            @($overrides | Where-Object { $_.path -eq $bobTool -and $_.kind -eq 'file' -and $_.user -eq 'bob' }) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('Allow-listed by file only: {0}' -f $aliceTool)) | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('Path/Folder Mask ''{0}\''; File Mask empty' -f (Split-Path -Path $aliceTool -Parent))) | Should -HaveCount 0
            @($overrides | Where-Object { $_.kind -eq 'file' }) | Should -HaveCount 3
            @($overrides | Where-Object { $_.path -eq $shell -or $_.path -eq (Split-Path -Path $shell -Parent) }) | Should -HaveCount 0
            @($overrides | Where-Object { $_.path -like '*Other Tool*' }) | Should -HaveCount 0
            (Get-ResultMessage -Result $run.Result -Text ('scheduled-task ''Codat start'' starts {0}' -f $shell)) | Should -HaveCount 1
        }

        It 'never allow-lists an unsigned program a Codat-named Run value starts, and reports it' {
            $dropped = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'AppData\Roaming\Codat\x.exe')
            $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Run' -Values @{ 'CodatSync' = ('"{0}"' -f $dropped) }
            Mock -CommandName Get-AuthenticodeSignature -ParameterFilter { [string]$PesterBoundParameters['LiteralPath'] -eq $dropped } -MockWith { New-TestSignature -Status 'NotSigned' -Subject '' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            @($run.Result.data.web_connector.auto_run | Where-Object { $_.path -eq $dropped }) | Should -HaveCount 1
            @($run.Result.data.overrides | Where-Object { $_.path -eq $dropped -or $_.path -eq (Split-Path -Path $dropped -Parent) }) | Should -HaveCount 0
            $decision = @($run.Result.data.allow_list | Where-Object { $_.path -eq $dropped })
            $decision | Should -HaveCount 1
            $decision[0].scope | Should -Be 'none'
            $decision[0].signature_status | Should -Be 'NotSigned'
            (Get-ResultCheck -Result $run.Result -Name 'web-connector-programs-signed')[0].passed | Should -BeFalse
            $message = @(Get-ResultMessage -Result $run.Result -Text ('Not allow-listed: {0}' -f $dropped))
            $message | Should -HaveCount 1
            $message[0] | Should -BeLike '*its Authenticode signature is not valid (status NotSigned)*'
            (Get-ResultMessage -Result $run.Result -Text $dropped) | Where-Object { $_ -like '*Block/Allow Files*' -or $_ -like 'Console override*' } | Should -BeNullOrEmpty
            # The signed Web Connector in Program Files keeps its folder and file overrides.
            @($run.Result.data.overrides | Where-Object { $_.path -eq $webConnectorFolder -and $_.kind -eq 'folder' }) | Should -HaveCount 1
            @($run.Result.data.overrides | Where-Object { $_.path -eq $qbwc -and $_.kind -eq 'file' }) | Should -HaveCount 1
        }

        It 'gives a copy of QBWebConnector.exe running from Downloads a file override only when Intuit signed it, and none otherwise' -TestCases @(
            @{ Subject = 'CN=Intuit Inc., O=Intuit Inc., L=Mountain View, S=California, C=US'; Scope = 'file' },
            @{ Subject = 'CN=Someone Else Ltd, O=Someone Else Ltd, C=GB'; Scope = 'none' }
        ) {
            param($Subject, $Scope)
            $copy = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\QBWebConnector.exe')
            $null = Add-FakeProcess -Machine $machine -Name 'QBWebConnector.exe' -ExecutablePath $copy -User 'alice'
            Mock -CommandName Get-AuthenticodeSignature -ParameterFilter { [string]$PesterBoundParameters['LiteralPath'] -eq $copy } -MockWith { New-TestSignature -Subject $Subject }

            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $downloads = Split-Path -Path $copy -Parent
            @($run.Result.data.overrides | Where-Object { $_.path -eq $downloads }) | Should -HaveCount 0
            (Get-ResultMessage -Result $run.Result -Text ('Path/Folder Mask ''{0}\''; File Mask empty' -f $downloads)) | Should -HaveCount 0
            @($run.Result.data.allow_list | Where-Object { $_.path -eq $copy })[0].scope | Should -Be $Scope
            if ($Scope -eq 'file') {
                @($run.Result.data.overrides | Where-Object { $_.path -eq $copy -and $_.kind -eq 'file' }) | Should -HaveCount 1
                (Get-ResultCheck -Result $run.Result -Name 'web-connector-programs-signed')[0].passed | Should -BeTrue
                (Get-ResultMessage -Result $run.Result -Text ('Allow-listed by file only: {0}' -f $copy)) | Should -HaveCount 1
            } else {
                @($run.Result.data.overrides | Where-Object { $_.path -eq $copy }) | Should -HaveCount 0
                (Get-ResultCheck -Result $run.Result -Name 'web-connector-programs-signed')[0].passed | Should -BeFalse
                @(Get-ResultMessage -Result $run.Result -Text ('Not allow-listed: {0}' -f $copy))[0] | Should -BeLike '*signed by ''Someone Else Ltd''*'
            }
        }
    }
}
